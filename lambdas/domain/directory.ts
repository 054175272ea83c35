/**
 * The directory document: `{users:[…], agents:[…]}` — who the people are (ids, emails, groups, chat
 * ids) and which agents exist. The deployed stack passes it in DIRECTORY_JSON (validated at synth
 * from `countersign:directory`), and countersign.local.json extends it for the twin.
 */
import * as z from 'zod';
import { AgentId, Principal } from './schemas.ts';

/** Other keys of the document (chat settings, the twin's demo keys) belong to other readers. */
export const DirectoryDocument = z.object({
  users: z
    .array(
      z.object({
        id: Principal.shape.id,
        email: z.string().min(1).optional(),
        displayName: z.string().min(1).optional(),
        groups: z.array(z.string().min(1)),
        slackUserId: z.string().min(1).optional(),
        teamsAadObjectId: z.string().min(1).optional(),
      }),
    )
    .default([]),
  agents: z
    .array(
      z.object({
        id: AgentId,
        /** The person accountable for the agent (directory id or email); never an approver of its requests. */
        owner: z.string({ error: 'every agent names its owner' }).min(1, 'every agent names its owner'),
      }),
    )
    .default([]),
});
export type DirectoryDocument = z.infer<typeof DirectoryDocument>;
