import { InvalidEventPatternError } from './errors.ts';
import { type IpAddress, parseCidr, parseIpAddress, rangeContains } from './ip-address.ts';
import { isJsonObject, type JsonObject, type LeafValue, tokenText } from './json-values.ts';
import { matchesWildcard, parseWildcard } from './wildcard.ts';

/**
 * One element of a pattern's value array, compiled. Every element except `{"exists": false}` is a test
 * on a present leaf value; `exists: false` is not a test of a value but of its absence.
 */
export type ValueTest = (value: LeafValue) => boolean;
export const MATCHES_ABSENCE = Symbol('matches-absence');
export type CompiledElement = ValueTest | typeof MATCHES_ABSENCE;

/** The message AWS gives for a second key in a `numeric` or `anything-but` expression (sic). */
const TOO_MANY_ELEMENTS = 'Too many elements in numeric expression';
const ONE_KEY_ONLY = 'Only one key allowed in match expression';

/**
 * Numbers that take part in range and anything-but comparisons must be representable in the matcher's
 * comparable form: within ±5e9 and with at most six decimals (aws/event-ruler ComparableNumber).
 */
const NUMBER_LIMIT = 5e9;
const MAX_DECIMALS = 6;

function fail(reason: string): never {
  throw new InvalidEventPatternError(reason);
}

export function compileExactValue(expected: LeafValue): ValueTest {
  if (typeof expected === 'string') return compileExactString(expected);
  // Strict equality is type-aware (the string "true" never equals true) and numeric for numbers,
  // so 300 in a pattern matches 3.0e2 in an event, as AWS does (despite older docs saying otherwise).
  return (value) => value === expected;
}

/** A string that is an IP literal matches any spelling of the same address, as AWS compares them as IPs. */
function compileExactString(expected: string): ValueTest {
  const address = parseIpAddress(expected);
  if (address === undefined) return (value) => value === expected;
  return (value) => value === expected || (typeof value === 'string' && isSameAddress(value, address));
}

function isSameAddress(text: string, address: IpAddress): boolean {
  const candidate = parseIpAddress(text);
  return (
    candidate !== undefined && candidate.version === address.version && candidate.value === address.value
  );
}

export function compileMatchExpression(expression: JsonObject): CompiledElement {
  const keys = Object.keys(expression);
  const operator = keys[0];
  if (operator === undefined) fail('Match expression name not found');
  const compiled = compileOperator(operator, expression[operator]);
  if (keys.length > 1)
    fail(operator === 'numeric' || operator === 'anything-but' ? TOO_MANY_ELEMENTS : ONE_KEY_ONLY);
  return compiled;
}

function compileOperator(operator: string, operand: unknown): CompiledElement {
  switch (operator) {
    case 'prefix':
      return compilePrefix(operand);
    case 'suffix':
      return compileSuffix(operand);
    case 'equals-ignore-case':
      return compileEqualsIgnoreCase(operand);
    case 'wildcard':
      return compileWildcard(operand);
    case 'anything-but':
      return compileAnythingBut(operand);
    case 'numeric':
      return compileNumeric(operand);
    case 'exists':
      return compileExists(operand);
    case 'cidr':
      return compileCidr(operand);
    default:
      return fail(`Unrecognized match type ${operator}`);
  }
}

function stringTest(test: (value: string) => boolean): ValueTest {
  return (value) => typeof value === 'string' && test(value);
}

function compilePrefix(operand: unknown): ValueTest {
  if (isJsonObject(operand)) {
    const lowered = ignoreCaseOperand('Prefix', operand).toLowerCase();
    return stringTest((value) => value.toLowerCase().startsWith(lowered));
  }
  if (typeof operand !== 'string') fail('prefix match pattern must be a string');
  return stringTest((value) => value.startsWith(operand));
}

function compileSuffix(operand: unknown): ValueTest {
  if (isJsonObject(operand)) {
    const lowered = ignoreCaseOperand('Suffix', operand).toLowerCase();
    return stringTest((value) => value.toLowerCase().endsWith(lowered));
  }
  if (typeof operand !== 'string') fail('suffix match pattern must be a string');
  return stringTest((value) => value.endsWith(operand));
}

/** `{"prefix": {"equals-ignore-case": "…"}}` and the suffix twin: only equals-ignore-case may nest. */
function ignoreCaseOperand(kind: 'Prefix' | 'Suffix', expression: JsonObject): string {
  const keys = Object.keys(expression);
  const operator = keys[0];
  if (operator === undefined) fail(`${kind} expression name not found`);
  if (operator !== 'equals-ignore-case') fail(`Unsupported ${kind.toLowerCase()} pattern: ${operator}`);
  const text = expression[operator];
  if (typeof text !== 'string') fail('equals-ignore-case match pattern must be a string');
  if (keys.length > 1) fail(ONE_KEY_ONLY);
  return text;
}

function compileEqualsIgnoreCase(operand: unknown): ValueTest {
  if (typeof operand !== 'string') fail('equals-ignore-case match pattern must be a string');
  const lowered = operand.toLowerCase();
  return stringTest((value) => value.toLowerCase() === lowered);
}

function compileWildcard(operand: unknown): ValueTest {
  if (typeof operand !== 'string') fail('wildcard match pattern must be a string');
  const pattern = parseWildcard(operand);
  return stringTest((value) => matchesWildcard(pattern, value));
}

function compileExists(operand: unknown): CompiledElement {
  if (typeof operand !== 'boolean') fail('exists match pattern must be either true or false.');
  // exists: true accepts any leaf, null included; objects and empty arrays are not leaves.
  return operand ? () => true : MATCHES_ABSENCE;
}

function compileCidr(operand: unknown): ValueTest {
  // AWS reuses the prefix wording for a non-string CIDR.
  if (typeof operand !== 'string') fail('prefix match pattern must be a string');
  const range = parseCidr(operand);
  return stringTest((value) => {
    const address = parseIpAddress(value);
    return address !== undefined && rangeContains(range, address);
  });
}

function checkComparableNumber(value: number): number {
  if (value < -NUMBER_LIMIT || value > NUMBER_LIMIT)
    fail('Value must be between -5.0E9 and 5.0E9, inclusive');
  if (decimalPlaces(value) > MAX_DECIMALS) fail('Only values upto 6 decimals are supported');
  return value;
}

function decimalPlaces(value: number): number {
  const [mantissa = '', exponent = '0'] = String(value).split('e');
  const fraction = mantissa.split('.')[1] ?? '';
  return Math.max(0, fraction.length - Number(exponent));
}

function compileNumeric(terms: unknown): ValueTest {
  if (!Array.isArray(terms)) fail('Value of numeric must be an array.');
  const operator: unknown = terms[0];
  if (typeof operator !== 'string') fail(`Invalid member in numeric match: ${tokenText(operator)}`);
  switch (operator) {
    case '=': {
      const expected = numericOperand(terms[1], 'equals');
      if (terms.length > 2) fail(TOO_MANY_ELEMENTS);
      return (value) => value === expected;
    }
    case '<':
    case '<=': {
      const top = numericOperand(terms[1], operator);
      if (terms.length > 2) fail(TOO_MANY_ELEMENTS);
      return numberTest(belowTest(top, operator));
    }
    case '>':
    case '>=':
      return compileLowerBoundedRange(terms, operator);
    default:
      return fail(`Unrecognized numeric range operator: ${operator}`);
  }
}

function compileLowerBoundedRange(terms: readonly unknown[], lowerOperator: '>' | '>='): ValueTest {
  const bottom = numericOperand(terms[1], lowerOperator);
  const above = aboveTest(bottom, lowerOperator);
  if (terms.length === 2) return numberTest(above);
  const upperOperator: unknown = terms[2];
  if (typeof upperOperator !== 'string') fail(`Bad value in numeric range: ${tokenText(upperOperator)}`);
  if (upperOperator !== '<' && upperOperator !== '<=') fail(`Bad numeric range operator: ${upperOperator}`);
  const top = numericOperand(terms[3], upperOperator);
  if (terms.length > 4) fail('Too many terms in numeric range expression');
  if (bottom >= top) fail('Bottom must be less than top');
  const below = belowTest(top, upperOperator);
  return numberTest((value) => above(value) && below(value));
}

function numericOperand(operand: unknown, operatorName: string): number {
  if (typeof operand !== 'number' || !Number.isFinite(operand))
    fail(`Value of ${operatorName} must be numeric`);
  return checkComparableNumber(operand);
}

function aboveTest(bottom: number, operator: '>' | '>='): (value: number) => boolean {
  return operator === '>' ? (value) => value > bottom : (value) => value >= bottom;
}

function belowTest(top: number, operator: '<' | '<='): (value: number) => boolean {
  return operator === '<' ? (value) => value < top : (value) => value <= top;
}

/** Numeric matching only applies to JSON numbers; "5" is a string and never in a range. */
function numberTest(test: (value: number) => boolean): ValueTest {
  return (value) => typeof value === 'number' && test(value);
}

const ANYTHING_BUT_VALUE_TYPE = 'Value of anything-but must be an array or single string/number value.';

/**
 * anything-but matches any present leaf that is not excluded, whatever its type (null and numbers pass
 * a string exclusion); a missing field never matches (handled by the caller: tests only see present leaves).
 */
function compileAnythingBut(operand: unknown): ValueTest {
  if (isJsonObject(operand)) return compileAnythingButOperator(operand);
  if (Array.isArray(operand)) return excludeLeaves(operand);
  if (typeof operand === 'string') return (value) => value !== operand;
  if (typeof operand === 'number' && Number.isFinite(operand)) {
    const excluded = checkComparableNumber(operand);
    return (value) => value !== excluded;
  }
  return fail(ANYTHING_BUT_VALUE_TYPE);
}

function excludeLeaves(list: readonly unknown[]): ValueTest {
  const kinds = new Set<string>();
  for (const item of list) {
    if (typeof item === 'number' && Number.isFinite(item)) checkComparableNumber(item);
    else if (typeof item !== 'string') fail('Inside anything but list, start|null|boolean is not supported.');
    kinds.add(typeof item);
  }
  if (kinds.size !== 1) {
    fail('Inside anything but list, either all values are number or string, mixed type is not supported');
  }
  const excluded = new Set<LeafValue>(list as LeafValue[]);
  return (value) => !excluded.has(value);
}

type ExclusionOperator = 'prefix' | 'suffix' | 'equals-ignore-case' | 'wildcard';

const EXCLUSION_TYPE_REASONS: Record<ExclusionOperator, string> = {
  prefix: 'prefix/suffix match pattern must be a string',
  suffix: 'prefix/suffix match pattern must be a string',
  'equals-ignore-case':
    'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
  wildcard: 'wildcard match pattern must be a string',
};

function isExclusionOperator(operator: string): operator is ExclusionOperator {
  return Object.hasOwn(EXCLUSION_TYPE_REASONS, operator);
}

function compileAnythingButOperator(expression: JsonObject): ValueTest {
  const keys = Object.keys(expression);
  const operator = keys[0];
  if (operator === undefined) fail('Anything-But expression name not found');
  if (!isExclusionOperator(operator)) fail(`Unsupported anything-but pattern: ${operator}`);
  const texts = exclusionTexts(operator, expression[operator]);
  if (keys.length > 1) fail(TOO_MANY_ELEMENTS);
  const isExcluded = exclusionTest(operator, texts);
  // Only strings can be excluded by these forms; a number or null is "anything but" a string pattern.
  return (value) => typeof value !== 'string' || !isExcluded(value);
}

function exclusionTexts(operator: ExclusionOperator, operand: unknown): string[] {
  if (!Array.isArray(operand) && typeof operand !== 'string' && typeof operand !== 'number') {
    fail(ANYTHING_BUT_VALUE_TYPE);
  }
  const items: readonly unknown[] = Array.isArray(operand) ? operand : [operand];
  return items.map((item) => {
    if (typeof item !== 'string') fail(EXCLUSION_TYPE_REASONS[operator]);
    if (item === '' && (operator === 'prefix' || operator === 'suffix'))
      fail('Null prefix/suffix not allowed');
    return item;
  });
}

function exclusionTest(operator: ExclusionOperator, texts: readonly string[]): (value: string) => boolean {
  switch (operator) {
    case 'prefix':
      return (value) => texts.some((text) => value.startsWith(text));
    case 'suffix':
      return (value) => texts.some((text) => value.endsWith(text));
    case 'equals-ignore-case': {
      const lowered = new Set(texts.map((text) => text.toLowerCase()));
      return (value) => lowered.has(value.toLowerCase());
    }
    case 'wildcard': {
      const patterns = texts.map(parseWildcard);
      return (value) => patterns.some((pattern) => matchesWildcard(pattern, value));
    }
  }
}
