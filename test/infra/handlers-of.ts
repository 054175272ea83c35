/** The handlers a synthesized stack has, one per entry (several functions may run one module). */
import type { Stack } from 'aws-cdk-lib';
import { HandlerFunction } from '../../lib/handler-function.ts';

export interface StackHandler {
  readonly entry: string;
  readonly externalModules: readonly string[];
}

export function handlersOf(stack: Stack): StackHandler[] {
  const byEntry = new Map<string, StackHandler>();
  for (const construct of stack.node.findAll()) {
    if (construct instanceof HandlerFunction && !byEntry.has(construct.entry)) {
      byEntry.set(construct.entry, { entry: construct.entry, externalModules: construct.externalModules });
    }
  }
  return [...byEntry.values()].sort((a, b) => a.entry.localeCompare(b.entry));
}
