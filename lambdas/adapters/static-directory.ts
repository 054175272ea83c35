/**
 * A directory read from one JSON document: `{users:[…], agents:[…]}`, the shape of
 * countersign.local.json. The deployed stack passes it in DIRECTORY_JSON (no secrets in it: only
 * ids, groups and chat ids); the local twin loads countersign.local.json into the same class.
 * Unknown identities resolve to undefined, never to a guess.
 */
import { DirectoryDocument } from '../domain/directory.ts';
import { ValidationError } from '../domain/errors.ts';
import { type Principal, PrincipalType, parse } from '../domain/schemas.ts';
import type { Directory, DirectoryAgent, IdentityRef } from '../ports/index.ts';

type DirectoryUser = DirectoryDocument['users'][number];

export class StaticDirectory implements Directory {
  readonly #document: DirectoryDocument;

  constructor(document: DirectoryDocument) {
    this.#document = document;
  }

  /** Parses the document from JSON text, failing with every problem listed. */
  static fromJson(json: string): StaticDirectory {
    let document: unknown;
    try {
      document = JSON.parse(json);
    } catch (error) {
      throw new ValidationError('invalid directory document: not JSON', [String(error)], { cause: error });
    }
    return new StaticDirectory(parse(DirectoryDocument, document, 'directory document'));
  }

  /** The same agents without the people: for a directory whose people live elsewhere (the identity store). */
  agentsOnly(): StaticDirectory {
    return new StaticDirectory({ users: [], agents: this.#document.agents });
  }

  async resolve(ref: IdentityRef): Promise<Principal | undefined> {
    // Agents first: a user listed under an agent's id must not turn the agent into a voter.
    const agent = ref.kind === 'id' ? this.#document.agents.find((a) => a.id === ref.value) : undefined;
    if (agent !== undefined) return { id: agent.id, type: PrincipalType.agent, groups: [] };
    const user = this.#document.users.find((candidate) => matches(candidate, ref));
    return user === undefined ? undefined : toPrincipal(user);
  }

  async agent(agentId: string): Promise<DirectoryAgent | undefined> {
    const agent = this.#document.agents.find((candidate) => candidate.id === agentId);
    return agent === undefined ? undefined : { id: agent.id, owner: agent.owner };
  }
}

/** The directory of DIRECTORY_JSON; without a document nobody resolves, so every vote is refused (fail closed). */
export function directoryFromJson(json: string | undefined): StaticDirectory {
  return json === undefined ? new StaticDirectory({ users: [], agents: [] }) : StaticDirectory.fromJson(json);
}

function matches(user: DirectoryUser, ref: IdentityRef): boolean {
  switch (ref.kind) {
    case 'id':
      return user.id === ref.value;
    case 'email':
      // Mailbox names are compared case-insensitively, as every mail system does in practice.
      return user.email !== undefined && user.email.toLowerCase() === ref.value.toLowerCase();
    case 'slack':
      return user.slackUserId === ref.value;
    case 'teams':
      return user.teamsAadObjectId === ref.value;
  }
}

function toPrincipal(user: DirectoryUser): Principal {
  return {
    id: user.id,
    type: PrincipalType.user,
    groups: [...user.groups],
    ...(user.email === undefined ? {} : { email: user.email }),
    ...(user.displayName === undefined ? {} : { displayName: user.displayName }),
  };
}
