/**
 * What the workflow knows about a request's resource before evaluating it (the CLI and the policy
 * tests supply it by hand): its data classification (from Macie) and its tags.
 */
import { z } from 'zod';

/** The data classification a policy can read, as the Macie classification store provides it. */
export const PolicyClassification = z.looseObject({
  severity: z.enum(['Low', 'Medium', 'High']).optional(),
  categories: z.array(z.string()).default([]),
  types: z.array(z.string()).default([]),
});
export type PolicyClassification = z.infer<typeof PolicyClassification>;

export const PolicyFacts = z.strictObject({
  classification: z.record(z.string(), z.unknown()).optional(),
  resourceTags: z.record(z.string(), z.string()).optional(),
});
export type PolicyFacts = z.infer<typeof PolicyFacts>;
