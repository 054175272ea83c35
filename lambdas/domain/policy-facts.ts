/**
 * What the workflow knows about a request's resource before evaluating it (the CLI and the policy
 * tests supply it by hand): its data classification (from Macie) and its tags.
 */
import { RequestClassification } from './classification.ts';
import * as z from './zod.ts';

export const PolicyFacts = z.strictObject({
  classification: z.optional(RequestClassification),
  resourceTags: z.optional(z.record(z.string(), z.string())),
});
export type PolicyFacts = z.infer<typeof PolicyFacts>;
