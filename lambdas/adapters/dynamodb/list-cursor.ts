/**
 * The opaque continuation token of request listings. Pages are ordered by the status index sort
 * key (createdAt#requestId, newest first), so the position is that key: the next page holds
 * everything strictly older, whichever statuses are being merged.
 */
import { ValidationError } from '../../domain/errors.ts';
import * as z from '../../domain/zod.ts';

const CursorPosition = z.strictObject({ before: z.string().check(z.minLength(1)) });
type CursorPosition = z.infer<typeof CursorPosition>;

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorPosition {
  try {
    return CursorPosition.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch (error) {
    throw new ValidationError('invalid cursor', ['cursor: not a cursor returned by a previous page'], {
      cause: error,
    });
  }
}
