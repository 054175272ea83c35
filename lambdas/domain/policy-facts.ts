/**
 * What the workflow knows about a request's resource before evaluating it (the CLI and the policy
 * tests supply it by hand): its data classification (from Macie) and its tags.
 */
import * as z from 'zod';
import { RequestClassification } from './classification.ts';

export const PolicyFacts = z.strictObject({
  classification: RequestClassification.optional(),
  resourceTags: z.record(z.string(), z.string()).optional(),
});
export type PolicyFacts = z.infer<typeof PolicyFacts>;
