import {
  AccessDeniedException,
  DescribeGroupCommand,
  DescribeUserCommand,
  GetUserIdCommand,
  IdentitystoreClient,
  ListGroupMembershipsForMemberCommand,
  ResourceNotFoundException,
  type ResourceType,
} from '@aws-sdk/client-identitystore';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDirectory } from '../../../lambdas/adapters/directory-wiring.ts';
import { DynamoDbIdentityOverrides } from '../../../lambdas/adapters/dynamodb/identity-overrides.ts';
import { TableKey } from '../../../lambdas/adapters/dynamodb/table-layout.ts';
import {
  IDENTITY_CACHE_TTL_MS,
  IdentityStoreDirectory,
} from '../../../lambdas/adapters/identity-store-directory.ts';
import { StaticDirectory } from '../../../lambdas/adapters/static-directory.ts';
import { DirectoryError } from '../../../lambdas/domain/errors.ts';
import { type LocalTable, startDynalite } from '../../support/dynalite.ts';

const STORE_ID = 'd-1234567890';
const metadata = { $metadata: {} };

/** A small identity store: carol is in three groups (over two pages), dave in none. */
const USERS = {
  'u-carol': {
    UserName: 'carol',
    DisplayName: 'Carol Reviewer',
    Emails: [
      { Value: 'carol.old@example.com', Primary: false },
      { Value: 'carol@example.com', Primary: true },
    ],
  },
  'u-dave': { UserName: 'dave', Name: { Formatted: 'Dave Builder' }, Emails: [] },
} as const;
const MEMBERSHIP_PAGES: Record<string, { groups: string[]; next?: string }> = {
  'u-carol#': { groups: ['g-security', 'g-data'], next: 'page-2' },
  'u-carol#page-2': { groups: ['g-oncall'] },
  'u-dave#': { groups: [] },
};
const GROUP_NAMES: Record<string, string> = {
  'g-security': 'security',
  'g-data': 'data-owners',
  'g-oncall': 'oncall',
};

const notFound = (resourceType: ResourceType) =>
  new ResourceNotFoundException({
    message: `${resourceType} not found`,
    ResourceType: resourceType,
    ...metadata,
  });

const identityStore = mockClient(IdentitystoreClient);

function serveTheStore(): void {
  identityStore.on(GetUserIdCommand).callsFake((input: GetUserIdCommand['input']) => {
    expect(input.IdentityStoreId).toBe(STORE_ID);
    const attribute = input.AlternateIdentifier?.UniqueAttribute;
    const match = Object.entries(USERS).find(([, user]) =>
      attribute?.AttributePath === 'userName'
        ? user.UserName === attribute.AttributeValue
        : attribute?.AttributePath === 'emails.value' &&
          user.Emails.some((email) => email.Value === attribute.AttributeValue),
    );
    if (match === undefined) throw notFound('USER');
    return { IdentityStoreId: STORE_ID, UserId: match[0] };
  });
  identityStore.on(DescribeUserCommand).callsFake((input: DescribeUserCommand['input']) => {
    const user = USERS[input.UserId as keyof typeof USERS];
    if (user === undefined) throw notFound('USER');
    return { IdentityStoreId: STORE_ID, UserId: input.UserId, ...user };
  });
  identityStore
    .on(ListGroupMembershipsForMemberCommand)
    .callsFake((input: ListGroupMembershipsForMemberCommand['input']) => {
      const page = MEMBERSHIP_PAGES[`${input.MemberId?.UserId}#${input.NextToken ?? ''}`];
      if (page === undefined) throw new Error(`unexpected page ${input.NextToken}`);
      return {
        GroupMemberships: page.groups.map((GroupId) => ({ IdentityStoreId: STORE_ID, GroupId })),
        ...(page.next === undefined ? {} : { NextToken: page.next }),
      };
    });
  identityStore.on(DescribeGroupCommand).callsFake((input: DescribeGroupCommand['input']) => {
    const name = GROUP_NAMES[input.GroupId ?? ''];
    if (name === undefined) throw notFound('GROUP');
    return { IdentityStoreId: STORE_ID, GroupId: input.GroupId, DisplayName: name };
  });
}

const CAROL = {
  id: 'carol',
  type: 'user',
  groups: ['security', 'data-owners', 'oncall'],
  email: 'carol@example.com',
  displayName: 'Carol Reviewer',
};

describe('IdentityStoreDirectory', () => {
  let table: LocalTable;
  let overrides: DynamoDbIdentityOverrides;
  let now: Date;
  const clock = { now: () => now };
  const agents = new StaticDirectory({ users: [], agents: [{ id: 'ci-bot', owner: 'dave' }] });

  const newDirectory = () =>
    new IdentityStoreDirectory({
      client: new IdentitystoreClient({ region: 'eu-west-1' }),
      identityStoreId: STORE_ID,
      overrides,
      agents,
      clock,
    });

  beforeAll(async () => {
    table = await startDynalite();
    overrides = new DynamoDbIdentityOverrides({ client: table.client, tableName: table.tableName });
  });
  afterAll(() => table.close());
  beforeEach(() => {
    now = new Date('2026-05-01T10:00:00Z');
    serveTheStore();
  });
  afterEach(() => identityStore.reset());

  it('resolves a directory id as the Identity Center user name, with group names across pages', async () => {
    await expect(newDirectory().resolve({ kind: 'id', value: 'carol' })).resolves.toEqual(CAROL);

    expect(identityStore.commandCalls(GetUserIdCommand)[0]?.args[0].input.AlternateIdentifier).toEqual({
      UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'carol' },
    });
    expect(identityStore.commandCalls(ListGroupMembershipsForMemberCommand)).toHaveLength(2);
  });

  it('resolves an email through the emails.value unique attribute', async () => {
    await expect(newDirectory().resolve({ kind: 'email', value: 'carol@example.com' })).resolves.toEqual(
      CAROL,
    );
    expect(identityStore.commandCalls(GetUserIdCommand)[0]?.args[0].input.AlternateIdentifier).toEqual({
      UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: 'carol@example.com' },
    });
  });

  it('finds an email written in another case: the store matches as written, then in lower case', async () => {
    await expect(newDirectory().resolve({ kind: 'email', value: 'Carol@EXAMPLE.com' })).resolves.toEqual(
      CAROL,
    );
    expect(
      identityStore.commandCalls(GetUserIdCommand).map((call) => call.args[0].input.AlternateIdentifier),
    ).toEqual([
      { UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: 'Carol@EXAMPLE.com' } },
      { UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: 'carol@example.com' } },
    ]);
  });

  it('uses the formatted name when there is no display name, and no email when the user has none', async () => {
    await expect(newDirectory().resolve({ kind: 'id', value: 'dave' })).resolves.toEqual({
      id: 'dave',
      type: 'user',
      groups: [],
      displayName: 'Dave Builder',
    });
  });

  it('resolves Slack and Teams accounts through the overrides in the table', async () => {
    await expect(overrides.bind('slack', 'U0CAROL', 'carol', now)).resolves.toBe(true);
    await expect(overrides.bind('teams', 'aad-carol', 'carol', now)).resolves.toBe(true);
    const directory = newDirectory();

    await expect(directory.resolve({ kind: 'slack', value: 'U0CAROL' })).resolves.toEqual(CAROL);
    await expect(directory.resolve({ kind: 'teams', value: 'aad-carol' })).resolves.toEqual(CAROL);
    // The channels are separate namespaces: a Teams id bound nowhere in Slack is unknown there.
    await expect(directory.resolve({ kind: 'slack', value: 'aad-carol' })).resolves.toBeUndefined();
  });

  it('never re-points a bound chat account (conditional put)', async () => {
    await overrides.bind('slack', 'U0TAKEN', 'carol', now);

    await expect(overrides.bind('slack', 'U0TAKEN', 'dave', now)).resolves.toBe(false);
    await expect(overrides.userNameFor('slack', 'U0TAKEN')).resolves.toBe('carol');
  });

  it('refuses a malformed override instead of treating the account as unbound', async () => {
    await table.client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...TableKey.identityOverride('teams', 'aad-broken') },
      }),
    );

    await expect(newDirectory().resolve({ kind: 'teams', value: 'aad-broken' })).rejects.toThrow(
      DirectoryError,
    );
  });

  it('answers undefined for an unknown user, an unbound chat account, or an override naming nobody', async () => {
    await overrides.bind('teams', 'aad-ghost', 'ghost', now);
    const directory = newDirectory();

    await expect(directory.resolve({ kind: 'id', value: 'mallory' })).resolves.toBeUndefined();
    await expect(directory.resolve({ kind: 'email', value: 'mallory@example.com' })).resolves.toBeUndefined();
    await expect(directory.resolve({ kind: 'slack', value: 'U0NOBODY' })).resolves.toBeUndefined();
    await expect(directory.resolve({ kind: 'teams', value: 'aad-ghost' })).resolves.toBeUndefined();
  });

  it('resolves agents from the agents list without asking the identity store', async () => {
    const directory = newDirectory();

    await expect(directory.resolve({ kind: 'id', value: 'ci-bot' })).resolves.toEqual({
      id: 'ci-bot',
      type: 'agent',
      groups: [],
    });
    await expect(directory.agent('ci-bot')).resolves.toEqual({ id: 'ci-bot', owner: 'dave' });
    await expect(directory.agent('other-bot')).resolves.toBeUndefined();
    expect(identityStore.commandCalls(GetUserIdCommand)).toHaveLength(0);
  });

  it('throws (callers fail closed) when the identity store fails, and does not cache the failure', async () => {
    identityStore
      .on(GetUserIdCommand)
      .rejectsOnce(new AccessDeniedException({ message: 'not authorized', ...metadata }));
    const directory = newDirectory();

    const failure = await directory.resolve({ kind: 'id', value: 'carol' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DirectoryError);
    expect((failure as DirectoryError).cause).toBeInstanceOf(AccessDeniedException);
    serveTheStore(); // the store answers again
    await expect(directory.resolve({ kind: 'id', value: 'carol' })).resolves.toEqual(CAROL);
  });

  it('throws when the identity store itself does not exist, rather than calling everyone unknown', async () => {
    identityStore.on(GetUserIdCommand).rejects(notFound('IDENTITY_STORE'));

    await expect(newDirectory().resolve({ kind: 'id', value: 'carol' })).rejects.toThrow(DirectoryError);
  });

  it('throws for a user name that cannot be a Countersign id', async () => {
    identityStore
      .on(DescribeUserCommand)
      .resolves({ IdentityStoreId: STORE_ID, UserId: 'u-carol', UserName: 'carol smith' });

    await expect(newDirectory().resolve({ kind: 'id', value: 'carol' })).rejects.toThrow(DirectoryError);
  });

  it('answers from its cache within the TTL, unknown answers included, and asks again after it', async () => {
    const directory = newDirectory();
    await directory.resolve({ kind: 'id', value: 'carol' });
    await directory.resolve({ kind: 'id', value: 'mallory' });

    now = new Date(now.getTime() + IDENTITY_CACHE_TTL_MS - 1);
    await expect(directory.resolve({ kind: 'id', value: 'carol' })).resolves.toEqual(CAROL);
    await expect(directory.resolve({ kind: 'id', value: 'mallory' })).resolves.toBeUndefined();
    expect(identityStore.commandCalls(GetUserIdCommand)).toHaveLength(2);
    expect(identityStore.commandCalls(DescribeUserCommand)).toHaveLength(1);

    now = new Date(now.getTime() + 1);
    await directory.resolve({ kind: 'id', value: 'carol' });
    expect(identityStore.commandCalls(GetUserIdCommand)).toHaveLength(3);
  });
});

describe('createDirectory', () => {
  const documentJson = JSON.stringify({
    users: [{ id: 'erin', groups: ['security'], email: 'erin@example.com' }],
    agents: [{ id: 'ci-bot', owner: 'dave' }],
  });
  // Never called: these tests only look at which directory is built and what it answers locally.
  const deps = { documentClient: {} as LocalTable['client'], tableName: 'countersign' };

  afterEach(() => identityStore.reset());

  it('is the DIRECTORY_JSON directory without IDENTITY_STORE_ID', async () => {
    const directory = createDirectory({ directoryJson: documentJson }, deps);

    expect(directory).toBeInstanceOf(StaticDirectory);
    await expect(directory.resolve({ kind: 'email', value: 'erin@example.com' })).resolves.toMatchObject({
      id: 'erin',
    });
  });

  it('resolves nobody without a directory at all (fail closed)', async () => {
    await expect(createDirectory({}, deps).resolve({ kind: 'id', value: 'erin' })).resolves.toBeUndefined();
  });

  it('is the identity store with IDENTITY_STORE_ID, keeping only the agents of DIRECTORY_JSON', async () => {
    identityStore.on(GetUserIdCommand).rejects(notFound('USER'));
    const directory = createDirectory(
      { directoryJson: documentJson, identityStoreId: STORE_ID },
      { ...deps, identityStoreClient: new IdentitystoreClient({ region: 'eu-west-1' }) },
    );

    expect(directory).toBeInstanceOf(IdentityStoreDirectory);
    // erin is only in the JSON document: with the identity store, people come from it alone.
    await expect(directory.resolve({ kind: 'id', value: 'erin' })).resolves.toBeUndefined();
    expect(identityStore.commandCalls(GetUserIdCommand)[0]?.args[0].input.IdentityStoreId).toBe(STORE_ID);
    await expect(directory.agent('ci-bot')).resolves.toEqual({ id: 'ci-bot', owner: 'dave' });
  });
});
