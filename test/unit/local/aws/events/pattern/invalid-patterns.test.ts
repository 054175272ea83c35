import { describe, expect, it } from 'vitest';
import { CountersignError } from '../../../../../../lambdas/domain/errors.ts';
import {
  compilePattern,
  InvalidEventPatternError,
} from '../../../../../../local/aws/events/pattern/index.ts';

/**
 * Patterns AWS rejects with InvalidEventPatternException, and the reason it gives. Reasons marked
 * "observed" were recorded from the real service (localstack/localstack test_events_patterns.snapshot.json);
 * the others are the messages of the matcher EventBridge runs (aws/event-ruler JsonRuleCompiler).
 */
const invalidPatterns: readonly (readonly [string, unknown, string])[] = [
  // Structure (eb-create-pattern: values are arrays, nested fields are objects).
  [
    'observed: a leaf value that is not an array',
    { string: 'my-value' },
    '"string" must be an object or an array',
  ],
  ['observed: a number that is not an array', { int: 42 }, '"int" must be an object or an array'],
  ['null instead of an array', { detail: null }, '"detail" must be an object or an array'],
  ['boolean instead of an array', { detail: { enabled: true } }, '"enabled" must be an object or an array'],
  ['observed: empty array', { resources: [] }, 'Empty arrays are not allowed'],
  ['empty pattern', {}, 'Empty objects are not allowed'],
  ['empty nested object', { detail: {} }, 'Empty objects are not allowed'],
  [
    'observed: JSON that is not an object',
    '["not", "a", "dict", "but valid json"]',
    'Filter is not an object',
  ],
  ['a JSON number', '42', 'Filter is not an object'],
  ['a parsed array', ['aws.ec2'], 'Filter is not an object'],
  ['null', null, 'Filter is not an object'],
  [
    'nested array as a value',
    { source: [['aws.ec2']] },
    'Match value must be String, number, true, false, or null',
  ],
  [
    'undefined as a value',
    { source: [undefined] },
    'Match value must be String, number, true, false, or null',
  ],
  ['NaN as a value', { n: [Number.NaN] }, 'Match value must be String, number, true, false, or null'],
  ['empty match expression', { source: [{}] }, 'Match expression name not found'],
  // Operators.
  [
    'observed: operator names are case sensitive',
    { my_key: [{ EXISTS: true }] },
    'Unrecognized match type EXISTS',
  ],
  ['observed: NUMERIC', { detail: { equal: [{ NUMERIC: ['=', 5] }] } }, 'Unrecognized match type NUMERIC'],
  ['unknown operator', { source: [{ contains: 'ec2' }] }, 'Unrecognized match type contains'],
  [
    'two operators in one expression',
    { source: [{ prefix: 'a', suffix: 'b' }] },
    'Only one key allowed in match expression',
  ],
  ['observed: prefix list', { time: [{ prefix: ['2022-07-13'] }] }, 'prefix match pattern must be a string'],
  ['observed: prefix number', { time: [{ prefix: 123 }] }, 'prefix match pattern must be a string'],
  [
    'prefix with an unsupported nested operator',
    { s: [{ prefix: { wildcard: 'a*' } }] },
    'Unsupported prefix pattern: wildcard',
  ],
  ['prefix with an empty nested object', { s: [{ prefix: {} }] }, 'Prefix expression name not found'],
  [
    'prefix ignore-case with a number',
    { s: [{ prefix: { 'equals-ignore-case': 1 } }] },
    'equals-ignore-case match pattern must be a string',
  ],
  ['observed: suffix number', { FileName: [{ suffix: 123 }] }, 'suffix match pattern must be a string'],
  ['observed: suffix list', { FileName: [{ suffix: ['.png'] }] }, 'suffix match pattern must be a string'],
  [
    'suffix with an unsupported nested operator',
    { s: [{ suffix: { prefix: 'a' } }] },
    'Unsupported suffix pattern: prefix',
  ],
  [
    'observed: equals-ignore-case list',
    { 'detail-type': [{ 'equals-ignore-case': ['ec2 instance state-change notification'] }] },
    'equals-ignore-case match pattern must be a string',
  ],
  [
    'observed: equals-ignore-case with a nested prefix',
    { 'detail-type': [{ 'equals-ignore-case': { prefix: 'ec2' } }] },
    'equals-ignore-case match pattern must be a string',
  ],
  // exists.
  ['exists with a string', { a: [{ exists: 'true' }] }, 'exists match pattern must be either true or false.'],
  ['exists with null', { a: [{ exists: null }] }, 'exists match pattern must be either true or false.'],
  [
    'exists with a second key',
    { a: [{ exists: true, prefix: 'x' }] },
    'Only one key allowed in match expression',
  ],
  // numeric.
  ['numeric not an array', { n: [{ numeric: '>' }] }, 'Value of numeric must be an array.'],
  ['numeric empty', { n: [{ numeric: [] }] }, 'Invalid member in numeric match: ]'],
  ['numeric starting with a number', { n: [{ numeric: [5, '>'] }] }, 'Invalid member in numeric match: 5'],
  ['numeric unknown operator', { n: [{ numeric: ['!=', 5] }] }, 'Unrecognized numeric range operator: !='],
  [
    'observed: numeric with a missing value',
    { detail: { 'c-count': [{ numeric: ['>', 0, '<'] }] } },
    'Value of < must be numeric',
  ],
  ['numeric with a string value', { n: [{ numeric: ['>', '5'] }] }, 'Value of > must be numeric'],
  ['numeric = with a string value', { n: [{ numeric: ['=', 'five'] }] }, 'Value of equals must be numeric'],
  [
    'numeric = with two values',
    { n: [{ numeric: ['=', 5, '<', 6] }] },
    'Too many elements in numeric expression',
  ],
  [
    'numeric < followed by another bound',
    { n: [{ numeric: ['<', 5, '>', 0] }] },
    'Too many elements in numeric expression',
  ],
  [
    'observed: numeric > followed by >',
    { detail: { 'c-count': [{ numeric: ['>', 0, '>', 0] }] } },
    'Bad numeric range operator: >',
  ],
  ['numeric > followed by =', { n: [{ numeric: ['>', 0, '=', 5] }] }, 'Bad numeric range operator: ='],
  ['numeric > followed by a number', { n: [{ numeric: ['>', 0, 5] }] }, 'Bad value in numeric range: 5'],
  [
    'numeric range with extra terms',
    { n: [{ numeric: ['>', 0, '<', 5, '<', 6] }] },
    'Too many terms in numeric range expression',
  ],
  ['numeric range upside down', { n: [{ numeric: ['>', 10, '<', 5] }] }, 'Bottom must be less than top'],
  ['numeric empty range', { n: [{ numeric: ['>=', 5, '<=', 5] }] }, 'Bottom must be less than top'],
  [
    'numeric beyond the supported range',
    { n: [{ numeric: ['>', 6e9] }] },
    'Value must be between -5.0E9 and 5.0E9, inclusive',
  ],
  [
    'numeric with seven decimals',
    { n: [{ numeric: ['<', 0.1234567] }] },
    'Only values upto 6 decimals are supported',
  ],
  [
    'numeric with a second key',
    { n: [{ numeric: ['>', 0], exists: true }] },
    'Too many elements in numeric expression',
  ],
  // anything-but.
  [
    'anything-but null',
    { s: [{ 'anything-but': null }] },
    'Value of anything-but must be an array or single string/number value.',
  ],
  [
    'anything-but boolean',
    { s: [{ 'anything-but': true }] },
    'Value of anything-but must be an array or single string/number value.',
  ],
  [
    'anything-but empty list',
    { s: [{ 'anything-but': [] }] },
    'Inside anything but list, either all values are number or string, mixed type is not supported',
  ],
  [
    'anything-but mixed list',
    { s: [{ 'anything-but': ['a', 1] }] },
    'Inside anything but list, either all values are number or string, mixed type is not supported',
  ],
  [
    'anything-but list with null',
    { s: [{ 'anything-but': ['a', null] }] },
    'Inside anything but list, start|null|boolean is not supported.',
  ],
  [
    'anything-but list with an object',
    { s: [{ 'anything-but': [{ prefix: 'a' }] }] },
    'Inside anything but list, start|null|boolean is not supported.',
  ],
  [
    'anything-but number out of range',
    { s: [{ 'anything-but': 1e10 }] },
    'Value must be between -5.0E9 and 5.0E9, inclusive',
  ],
  [
    'anything-but unsupported nested operator',
    { s: [{ 'anything-but': { numeric: ['>', 1] } }] },
    'Unsupported anything-but pattern: numeric',
  ],
  [
    'anything-but empty nested object',
    { s: [{ 'anything-but': {} }] },
    'Anything-But expression name not found',
  ],
  [
    'observed: anything-but prefix number',
    { detail: { state: [{ 'anything-but': { prefix: 123 } }] } },
    'prefix/suffix match pattern must be a string',
  ],
  [
    'observed: anything-but prefix list with a number',
    { detail: { state: [{ 'anything-but': { prefix: [123, 'test'] } }] } },
    'prefix/suffix match pattern must be a string',
  ],
  [
    'observed: anything-but suffix number',
    { detail: { FileName: [{ 'anything-but': { suffix: 123 } }] } },
    'prefix/suffix match pattern must be a string',
  ],
  [
    'anything-but empty prefix',
    { detail: { FileName: [{ 'anything-but': { prefix: '' } }] } },
    'Null prefix/suffix not allowed',
  ],
  [
    'anything-but empty suffix',
    { detail: { FileName: [{ 'anything-but': { suffix: '' } }] } },
    'Null prefix/suffix not allowed',
  ],
  [
    'observed: anything-but prefix with ignore case',
    { detail: { FileName: [{ 'anything-but': { prefix: { 'equals-ignore-case': 'file' } } }] } },
    'Value of anything-but must be an array or single string/number value.',
  ],
  [
    'observed: anything-but equals-ignore-case number',
    { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 123 } }] } },
    'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
  ],
  [
    'observed: anything-but equals-ignore-case list of numbers',
    { detail: { state: [{ 'anything-but': { 'equals-ignore-case': [123, 456] } }] } },
    'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
  ],
  [
    'observed: anything-but wildcard number',
    { detail: { FilePath: [{ 'anything-but': { wildcard: 123 } }] } },
    'wildcard match pattern must be a string',
  ],
  [
    'observed: anything-but wildcard list with a number',
    { detail: { state: [{ 'anything-but': { wildcard: [123, '*/dir/*'] } }] } },
    'wildcard match pattern must be a string',
  ],
  [
    'anything-but wildcard with **',
    { p: [{ 'anything-but': { wildcard: 'a**' } }] },
    'Consecutive wildcard characters at pos 2',
  ],
  [
    'anything-but nested object with two keys',
    { p: [{ 'anything-but': { prefix: 'a', suffix: 'b' } }] },
    'Too many elements in numeric expression',
  ],
  [
    'anything-but with a second key',
    { p: [{ 'anything-but': 'a', prefix: 'b' }] },
    'Too many elements in numeric expression',
  ],
  // wildcard.
  [
    'observed: wildcard number',
    { EventBusArn: [{ wildcard: 123 }] },
    'wildcard match pattern must be a string',
  ],
  [
    'observed: wildcard list',
    { EventBusArn: [{ wildcard: ['arn:*'] }] },
    'wildcard match pattern must be a string',
  ],
  [
    'observed: consecutive wildcards',
    { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:**:event-bus/*' }] },
    'Consecutive wildcard characters at pos 26',
  ],
  [
    'consecutive wildcards at the start',
    { v: [{ wildcard: '**' }] },
    'Consecutive wildcard characters at pos 1',
  ],
  ['position counts UTF-8 bytes', { v: [{ wildcard: 'é**' }] }, 'Consecutive wildcard characters at pos 3'],
  ['escape of another character', { v: [{ wildcard: 'a\\b' }] }, 'Invalid escape character at pos 2'],
  ['trailing backslash', { v: [{ wildcard: 'ab\\' }] }, 'Invalid escape character at pos 3'],
  // cidr.
  ['observed: cidr without a mask', { ip: [{ cidr: '10.0.0.0' }] }, "Malformed CIDR, one '/' required"],
  ['cidr with two slashes', { ip: [{ cidr: '10.0.0.0/8/8' }] }, "Malformed CIDR, one '/' required"],
  [
    'observed: cidr mask not an integer',
    { ip: [{ cidr: '10.0.0.0/xx' }] },
    'Malformed CIDR, mask bits must be an integer',
  ],
  ['cidr negative mask', { ip: [{ cidr: '10.0.0.0/-1' }] }, 'Malformed CIDR, mask bits must not be negative'],
  ['cidr IPv4 mask too wide', { ip: [{ cidr: '10.0.0.0/33' }] }, 'IPv4 mask bits must be < 32'],
  ['cidr IPv6 mask too wide', { ip: [{ cidr: '2001:db8::/128' }] }, 'IPv6 mask bits must be < 128'],
  [
    'observed: cidr with a non-address',
    { ip: [{ cidr: 'xx.11.xx/24' }] },
    'Nonstandard IP address: xx.11.xx',
  ],
  [
    'observed: cidr with a bad IPv6 address',
    { ip: [{ cidr: 'xxxx:db8:1234:1a00::/64' }] },
    'Nonstandard IP address: xxxx:db8:1234:1a00::',
  ],
  ['cidr with an octet above 255', { ip: [{ cidr: '10.0.0.300/24' }] }, 'Invalid IP address: 10.0.0.300'],
  ['observed: cidr list', { ip: [{ cidr: ['bad-type'] }] }, 'prefix match pattern must be a string'],
  // $or.
  ['$or with an object', { $or: { a: ['x'] } }, 'It must be an Array followed with $or.'],
  [
    '$or with one alternative',
    { $or: [{ a: ['x'] }] },
    'There must have at least 2 Objects in $or relationship.',
  ],
  ['$or with no alternative', { $or: [] }, 'There must have at least 2 Objects in $or relationship.'],
  [
    '$or with a value that is not an object',
    { $or: [{ a: ['x'] }, 'b'] },
    'Only JSON object is allowed in array of $or relationship.',
  ],
  ['$or alternative that is empty', { $or: [{ a: ['x'] }, {}] }, 'Empty objects are not allowed'],
  [
    'operator name as a field inside $or',
    { $or: [{ numeric: [123] }, { prefix: ['abc'] }] },
    'numeric is Ruler reserved fieldName which cannot be used inside $or.',
  ],
  [
    'reserved name deeper inside $or',
    { $or: [{ a: { exists: [true] } }, { b: ['x'] }] },
    'exists is Ruler reserved fieldName which cannot be used inside $or.',
  ],
  ['invalid value inside $or', { $or: [{ a: ['x'] }, { b: 'y' }] }, '"b" must be an object or an array'],
];

describe('patterns AWS rejects', () => {
  it.each(invalidPatterns)('%s', (_name, pattern, reason) => {
    let caught: unknown;
    try {
      compilePattern(pattern);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidEventPatternError);
    expect(caught).toBeInstanceOf(CountersignError);
    expect((caught as InvalidEventPatternError).reason).toBe(reason);
    expect((caught as InvalidEventPatternError).message).toBe(
      `Event pattern is not valid. Reason: ${reason}`,
    );
  });

  it('rejects text that is not JSON, keeping the parser error as the cause', () => {
    let caught: unknown;
    try {
      compilePattern("{'bad': 'quotation'}");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidEventPatternError);
    expect((caught as InvalidEventPatternError).message).toMatch(/^Event pattern is not valid\. Reason: /);
    expect((caught as InvalidEventPatternError).cause).toBeInstanceOf(SyntaxError);
  });
});

describe('patterns AWS accepts that look suspicious', () => {
  const accepted: readonly (readonly [string, unknown])[] = [
    ['"$or" may hold more than two alternatives', { $or: [{ a: ['x'] }, { b: ['y'] }, { c: ['z'] }] }],
    ['an empty prefix', { s: [{ prefix: '' }] }],
    ['an empty wildcard inside anything-but', { s: [{ 'anything-but': { wildcard: '' } }] }],
    ['escaped wildcard characters', { s: [{ wildcard: 'a\\*b\\\\c*' }] }],
    ['numbers beyond the numeric range as exact values (account ids)', { account: [123456789012] }],
    ['anything-but with an empty prefix list', { s: [{ 'anything-but': { prefix: [] } }] }],
    ['a field named like an operator outside $or', { detail: { prefix: ['x'] } }],
    ['a /0 block', { ip: [{ cidr: '::/0' }] }],
  ];
  it.each(accepted)('%s', (_name, pattern) => {
    expect(() => compilePattern(pattern)).not.toThrow();
  });
});
