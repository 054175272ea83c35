/**
 * The directory document: `{users:[…], agents:[…]}` — who the people are (ids, emails, groups, chat
 * ids) and which agents exist. The deployed stack passes it in DIRECTORY_JSON (validated at synth
 * from `countersign:directory`), and countersign.local.json extends it for the twin.
 */
import { AgentId, Principal } from './schemas.ts';
import * as z from './zod.ts';

/** An agent of the directory, and the person accountable for it. */
export const DirectoryAgent = z.object({
  id: AgentId,
  /** The person accountable for the agent (directory id or email); never an approver of its requests. */
  owner: z
    .string({ error: 'every agent names its owner' })
    .check(z.minLength(1, 'every agent names its owner')),
});

/** Other keys of the document (chat settings, the twin's demo keys) belong to other readers. */
export const DirectoryDocument = z.object({
  users: z._default(
    z.array(
      z.object({
        id: Principal.shape.id,
        email: z.optional(z.string().check(z.minLength(1))),
        displayName: z.optional(z.string().check(z.minLength(1))),
        groups: z.array(z.string().check(z.minLength(1))),
        slackUserId: z.optional(z.string().check(z.minLength(1))),
        teamsAadObjectId: z.optional(z.string().check(z.minLength(1))),
      }),
    ),
    [],
  ),
  agents: z._default(z.array(DirectoryAgent), []),
});
export type DirectoryDocument = z.infer<typeof DirectoryDocument>;
