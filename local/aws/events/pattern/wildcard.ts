import { InvalidEventPatternError } from './errors.ts';

/**
 * A wildcard value: literal pieces separated by `*`, each `*` standing for zero or more characters.
 * `\*` is a literal asterisk and `\\` a literal backslash; any other escape, and `**`, are rejected.
 */
export interface WildcardPattern {
  /** Literal text between the wildcards; `pieces.length - 1` wildcards. */
  readonly pieces: readonly string[];
}

const ASTERISK = '*';
const BACKSLASH = '\\';

export function parseWildcard(text: string): WildcardPattern {
  const pieces: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const character = text[index] as string;
    if (character === ASTERISK) {
      if (text[index + 1] === ASTERISK) {
        throw new InvalidEventPatternError(
          `Consecutive wildcard characters at pos ${awsPosition(text, index)}`,
        );
      }
      pieces.push(current);
      current = '';
    } else if (character === BACKSLASH) {
      const escaped = text[index + 1];
      if (escaped !== ASTERISK && escaped !== BACKSLASH) {
        throw new InvalidEventPatternError(`Invalid escape character at pos ${awsPosition(text, index)}`);
      }
      current += escaped;
      index++;
    } else {
      current += character;
    }
  }
  pieces.push(current);
  return { pieces };
}

/**
 * AWS reports the UTF-8 byte offset inside the quoted value (`"` + text + `"`), hence the +1.
 */
function awsPosition(text: string, index: number): number {
  return Buffer.byteLength(text.slice(0, index), 'utf8') + 1;
}

/**
 * Anchored glob match. Greedy leftmost placement of the middle pieces is exact for `*`-only globs:
 * taking the earliest occurrence never prevents a later piece from matching.
 */
export function matchesWildcard(pattern: WildcardPattern, value: string): boolean {
  const { pieces } = pattern;
  const first = pieces[0] as string;
  if (pieces.length === 1) return value === first;
  const last = pieces[pieces.length - 1] as string;
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  let cursor = first.length;
  const end = value.length - last.length;
  for (let index = 1; index < pieces.length - 1; index++) {
    const piece = pieces[index] as string;
    const found = value.indexOf(piece, cursor);
    if (found === -1 || found + piece.length > end) return false;
    cursor = found + piece.length;
  }
  return true;
}
