/**
 * Who may never vote on a request: the agent, the person who owns it and the person it acts for,
 * each as the one canonical directory id the voter check compares with. A name that does not
 * resolve to a person (or an agent the directory does not register) makes the request
 * unreviewable: nobody could tell self-approval from approval, so the request is denied.
 */
import { type AgentRequestDetail, type Principal, PrincipalType } from '../domain/schemas.ts';
import type { Directory } from '../ports/index.ts';

export interface Requesters {
  /** Canonical ids where known; a name that did not resolve is kept as written (the request is denied). */
  readonly ids: string[];
  /** Set when the requesters could not be established: the request must be denied, with this reason. */
  readonly problem?: string;
}

/**
 * The person a directory id or an email names: by id first, then by email (compared without
 * regard to case), and only ever a person, never an agent or a service.
 */
export async function resolvePerson(directory: Directory, name: string): Promise<Principal | undefined> {
  const byId = await directory.resolve({ kind: 'id', value: name });
  if (byId?.type === PrincipalType.user) return byId;
  const byEmail = await directory.resolve({ kind: 'email', value: name });
  return byEmail?.type === PrincipalType.user ? byEmail : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function establish(directory: Directory, agent: AgentRequestDetail['agent']): Promise<Requesters> {
  const registered = await directory.agent(agent.id);
  if (registered === undefined) {
    return { ids: [agent.id], problem: `the agent "${agent.id}" is not registered in the directory` };
  }
  const owner = await resolvePerson(directory, registered.owner);
  if (owner === undefined) {
    return {
      ids: [agent.id, registered.owner],
      problem: `the owner of agent "${agent.id}" ("${registered.owner}") is not a person in the directory`,
    };
  }
  const ids = new Set([agent.id, owner.id]);
  if (agent.onBehalfOf === undefined) return { ids: [...ids] };
  const person = await resolvePerson(directory, agent.onBehalfOf);
  if (person === undefined) {
    return {
      ids: [...ids, agent.onBehalfOf],
      problem: `the person the agent acts for ("${agent.onBehalfOf}") is not in the directory`,
    };
  }
  return { ids: [...ids.add(person.id)] };
}

/** Never throws: a directory that cannot answer is a problem like any other (fail closed). */
export async function resolveRequesters(
  directory: Directory,
  agent: AgentRequestDetail['agent'],
): Promise<Requesters> {
  try {
    return await establish(directory, agent);
  } catch (error) {
    return { ids: [agent.id], problem: `the requesters could not be resolved: ${messageOf(error)}` };
  }
}
