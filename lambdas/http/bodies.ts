/**
 * The REST API's response bodies that clients code against, as schemas: the handler's answers are
 * typed by them, the OpenAPI document is generated from them, and the CLI and the console read them.
 */
import { z } from 'zod';
import { Eligibility } from '../domain/approval.ts';
import { AuditRecord, RequestRecord } from '../domain/schemas.ts';

/** What GET /api/requests/{id} answers: the record, its audit timeline and whether the caller may vote. */
export const RequestDetailBody = z.strictObject({
  request: RequestRecord,
  timeline: z.array(AuditRecord),
  canVote: Eligibility.meta({ description: 'Whether the caller may vote now and, if not, why.' }),
});
export type RequestDetailBody = z.infer<typeof RequestDetailBody>;
