/**
 * `GenerateSecretString` as CloudFormation gives a new secret its value: a random password of the
 * asked length and character classes (every included class at least once unless told otherwise),
 * or, with `SecretStringTemplate` and `GenerateStringKey`, that JSON document with the password
 * under the key.
 */
import { randomInt } from 'node:crypto';
import { ConfigurationError } from '../../../lambdas/domain/errors.ts';

const CLASSES = {
  lowercase: 'abcdefghijklmnopqrstuvwxyz',
  uppercase: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  numbers: '0123456789',
  punctuation: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
} as const;

export interface GenerateSecretStringSpec {
  readonly ExcludeCharacters?: string;
  readonly ExcludeLowercase?: boolean;
  readonly ExcludeNumbers?: boolean;
  readonly ExcludePunctuation?: boolean;
  readonly ExcludeUppercase?: boolean;
  readonly IncludeSpace?: boolean;
  readonly PasswordLength?: number;
  readonly RequireEachIncludedType?: boolean;
  readonly SecretStringTemplate?: string;
  readonly GenerateStringKey?: string;
}

function password(spec: GenerateSecretStringSpec): string {
  const length = spec.PasswordLength ?? 32;
  const excluded = new Set(spec.ExcludeCharacters ?? '');
  const classes = [
    spec.ExcludeLowercase === true ? '' : CLASSES.lowercase,
    spec.ExcludeUppercase === true ? '' : CLASSES.uppercase,
    spec.ExcludeNumbers === true ? '' : CLASSES.numbers,
    spec.ExcludePunctuation === true ? '' : CLASSES.punctuation,
    spec.IncludeSpace === true ? ' ' : '',
  ]
    .map((characters) => [...characters].filter((character) => !excluded.has(character)).join(''))
    .filter((characters) => characters.length > 0);
  const alphabet = classes.join('');
  const requireEach = spec.RequireEachIncludedType !== false;
  if (!Number.isInteger(length) || length < 1 || length > 4096 || alphabet.length === 0) {
    throw new ConfigurationError(`GenerateSecretString cannot make a password from ${JSON.stringify(spec)}`);
  }
  if (requireEach && length < classes.length) {
    throw new ConfigurationError(`GenerateSecretString: ${length} characters cannot include every type`);
  }
  for (;;) {
    const value = Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
    if (!requireEach || classes.every((characters) => [...value].some((c) => characters.includes(c)))) {
      return value;
    }
  }
}

export function generateSecretString(spec: GenerateSecretStringSpec): string {
  const generated = password(spec);
  if (spec.SecretStringTemplate === undefined) return generated;
  if (spec.GenerateStringKey === undefined) {
    throw new ConfigurationError('GenerateSecretString: SecretStringTemplate needs GenerateStringKey');
  }
  const document: unknown = JSON.parse(spec.SecretStringTemplate);
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigurationError('GenerateSecretString: SecretStringTemplate must be a JSON object');
  }
  return JSON.stringify({ ...document, [spec.GenerateStringKey]: generated });
}
