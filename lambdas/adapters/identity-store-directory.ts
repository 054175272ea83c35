/**
 * The directory in AWS: people are IAM Identity Center users (the identity store), their groups
 * are the display names of the Identity Center groups they belong to, and their directory id is
 * their Identity Center `UserName`. Slack and Teams accounts are bound to a user name by operator
 * overrides in the table (the identity store keeps no chat ids); a Slack account without one is
 * still bound through its profile email by the caller (see chat-reviewers.ts).
 *
 * Agents are not people and are not in the identity store: they come from the
 * `countersign:directory` agents list (DIRECTORY_JSON), which the `agents` directory answers.
 *
 * Resolutions are cached per Lambda container for a short time, so a burst of votes costs one
 * lookup per person; unknown answers are cached too (a new user waits one TTL). Errors are never
 * cached and always thrown, so callers fail closed.
 */
import {
  DescribeGroupCommand,
  DescribeUserCommand,
  type DescribeUserCommandOutput,
  GetUserIdCommand,
  type IdentitystoreClient,
  paginateListGroupMembershipsForMember,
} from '@aws-sdk/client-identitystore';
import { DirectoryError } from '../domain/errors.ts';
import { Principal, PrincipalType, parse } from '../domain/schemas.ts';
import type { Clock, Directory, DirectoryAgent, IdentityOverrides, IdentityRef } from '../ports/index.ts';

/** Long enough to absorb a burst of clicks, short enough that a removed group membership soon counts. */
export const IDENTITY_CACHE_TTL_MS = 60_000;
/** Above this many entries the expired ones are dropped, so a long-lived container does not grow. */
const CACHE_PRUNE_THRESHOLD = 1_000;

/** The unique attributes GetUserId accepts (the only two the API supports). */
const UniqueAttribute = { userName: 'userName', email: 'emails.value' } as const;
type UniqueAttribute = (typeof UniqueAttribute)[keyof typeof UniqueAttribute];

export interface IdentityStoreDirectoryOptions {
  readonly client: IdentitystoreClient;
  readonly identityStoreId: string;
  readonly overrides: IdentityOverrides;
  /** Answers for agents (resolve by id, agent); people are never looked up in it. */
  readonly agents: Directory;
  readonly clock: Clock;
  /** @default IDENTITY_CACHE_TTL_MS */
  readonly cacheTtlMs?: number;
}

export class IdentityStoreDirectory implements Directory {
  readonly #options: IdentityStoreDirectoryOptions;
  readonly #principals: TtlCache<Principal | undefined>;
  readonly #groupNames: TtlCache<string | undefined>;

  constructor(options: IdentityStoreDirectoryOptions) {
    this.#options = options;
    const ttlMs = options.cacheTtlMs ?? IDENTITY_CACHE_TTL_MS;
    this.#principals = new TtlCache(ttlMs);
    this.#groupNames = new TtlCache(ttlMs);
  }

  async resolve(ref: IdentityRef): Promise<Principal | undefined> {
    const key = `${ref.kind}#${ref.value}`;
    const now = this.#options.clock.now().getTime();
    const cached = this.#principals.get(key, now);
    if (cached.hit) return cached.value;
    let principal: Principal | undefined;
    try {
      principal = await this.#lookUp(ref);
    } catch (error) {
      if (error instanceof DirectoryError) throw error;
      throw new DirectoryError(`the identity store could not resolve an identity (by ${ref.kind})`, {
        cause: error,
      });
    }
    this.#principals.set(key, principal, now);
    return principal;
  }

  agent(agentId: string): Promise<DirectoryAgent | undefined> {
    return this.#options.agents.agent(agentId);
  }

  async #lookUp(ref: IdentityRef): Promise<Principal | undefined> {
    switch (ref.kind) {
      case 'id':
        // Agents first: a user created with an agent's name must not turn the agent into a voter.
        return (
          (await this.#options.agents.resolve(ref)) ??
          (await this.#userBy(UniqueAttribute.userName, ref.value))
        );
      case 'email': {
        // Mailbox names compare case-insensitively; the store matches as written, so the lower-case
        // spelling (how most directories keep addresses) is tried as well.
        const lower = ref.value.toLowerCase();
        return (
          (await this.#userBy(UniqueAttribute.email, ref.value)) ??
          (lower === ref.value ? undefined : await this.#userBy(UniqueAttribute.email, lower))
        );
      }
      case 'slack':
      case 'teams': {
        const userName = await this.#options.overrides.userNameFor(ref.kind, ref.value);
        return userName === undefined ? undefined : this.#userBy(UniqueAttribute.userName, userName);
      }
    }
  }

  async #userBy(attributePath: UniqueAttribute, value: string): Promise<Principal | undefined> {
    const { client, identityStoreId } = this.#options;
    const userId = await absentWhenNotFound(async () => {
      const output = await client.send(
        new GetUserIdCommand({
          IdentityStoreId: identityStoreId,
          AlternateIdentifier: { UniqueAttribute: { AttributePath: attributePath, AttributeValue: value } },
        }),
      );
      return output.UserId;
    });
    if (userId === undefined) return undefined;
    const user = await absentWhenNotFound(() =>
      client.send(new DescribeUserCommand({ IdentityStoreId: identityStoreId, UserId: userId })),
    );
    if (user === undefined) return undefined;
    return toPrincipal(user, await this.#groupNamesOf(userId));
  }

  async #groupNamesOf(userId: string): Promise<string[]> {
    const { client, identityStoreId } = this.#options;
    const groupIds: string[] = [];
    const pages = paginateListGroupMembershipsForMember(
      { client },
      { IdentityStoreId: identityStoreId, MemberId: { UserId: userId } },
    );
    for await (const page of pages) {
      for (const membership of page.GroupMemberships ?? []) {
        if (membership.GroupId !== undefined) groupIds.push(membership.GroupId);
      }
    }
    const names = await Promise.all(groupIds.map((groupId) => this.#groupName(groupId)));
    // A group deleted meanwhile has no name and grants nothing: leaving it out only narrows rights.
    return names.filter((name): name is string => name !== undefined);
  }

  async #groupName(groupId: string): Promise<string | undefined> {
    const now = this.#options.clock.now().getTime();
    const cached = this.#groupNames.get(groupId, now);
    if (cached.hit) return cached.value;
    const group = await absentWhenNotFound(() =>
      this.#options.client.send(
        new DescribeGroupCommand({ IdentityStoreId: this.#options.identityStoreId, GroupId: groupId }),
      ),
    );
    const name = group?.DisplayName;
    this.#groupNames.set(groupId, name, now);
    return name;
  }
}

/** The identity store's "no such user / group" is an answer (unknown); a missing store is a failure. */
async function absentWhenNotFound<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'ResourceNotFoundException') return false;
  return (error as { ResourceType?: string }).ResourceType !== 'IDENTITY_STORE';
}

function toPrincipal(user: DescribeUserCommandOutput, groups: string[]): Principal {
  const emails = user.Emails ?? [];
  const email = (emails.find((candidate) => candidate.Primary === true) ?? emails[0])?.Value;
  const displayName = user.DisplayName ?? user.Name?.Formatted;
  try {
    return parse(
      Principal,
      {
        id: user.UserName,
        type: PrincipalType.user,
        groups,
        ...(email === undefined ? {} : { email }),
        ...(displayName === undefined ? {} : { displayName }),
      },
      'identity store user',
    );
  } catch (error) {
    // A user name Countersign cannot use as an id is refused, never reshaped into someone else's.
    throw new DirectoryError('an identity store user cannot be used as a Countersign identity', {
      cause: error,
    });
  }
}

/** A per-container cache whose entries expire; `hit` tells a cached "unknown" from a miss. */
class TtlCache<V> {
  readonly #entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();
  readonly #ttlMs: number;

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  get(key: string, now: number): { hit: true; value: V } | { hit: false } {
    const entry = this.#entries.get(key);
    return entry !== undefined && entry.expiresAt > now ? { hit: true, value: entry.value } : { hit: false };
  }

  set(key: string, value: V, now: number): void {
    if (this.#entries.size >= CACHE_PRUNE_THRESHOLD) {
      for (const [candidate, entry] of this.#entries) {
        if (entry.expiresAt <= now) this.#entries.delete(candidate);
      }
    }
    this.#entries.set(key, { value, expiresAt: now + this.#ttlMs });
  }
}
