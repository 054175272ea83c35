/**
 * The one place a handler's directory is chosen, at cold start. With IDENTITY_STORE_ID (AWS with
 * IAM Identity Center) people come from the identity store, chat accounts from the overrides in
 * the table and agents from DIRECTORY_JSON; without it (the twin, or a small deployment) everything
 * comes from DIRECTORY_JSON. Without either nobody resolves, so every vote is refused (fail closed).
 */
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock, Directory } from '../ports/index.ts';
import { DynamoDbIdentityOverrides } from './dynamodb/identity-overrides.ts';
import { IdentityStoreDirectory } from './identity-store-directory.ts';
import { directoryFromJson } from './static-directory.ts';
import { systemClock } from './system-clock.ts';

export interface DirectoryEnvironment {
  readonly directoryJson?: string | undefined;
  readonly identityStoreId?: string | undefined;
}

export interface DirectoryDeps {
  readonly documentClient: DynamoDBDocumentClient;
  readonly tableName: string;
  /** @default a client from the SDK's own region and credential resolution */
  readonly identityStoreClient?: IdentitystoreClient;
  /** @default systemClock */
  readonly clock?: Clock;
}

export function createDirectory(env: DirectoryEnvironment, deps: DirectoryDeps): Directory {
  const document = directoryFromJson(env.directoryJson);
  if (env.identityStoreId === undefined) return document;
  return new IdentityStoreDirectory({
    client: deps.identityStoreClient ?? new IdentitystoreClient({}),
    identityStoreId: env.identityStoreId,
    overrides: new DynamoDbIdentityOverrides({ client: deps.documentClient, tableName: deps.tableName }),
    agents: document.agentsOnly(),
    clock: deps.clock ?? systemClock,
  });
}
