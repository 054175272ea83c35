/** `countersign deny <id> --as <user> --reason …`. */
import { runVote } from '../vote.ts';

export async function run(args: string[]): Promise<number> {
  return runVote('deny', args);
}
