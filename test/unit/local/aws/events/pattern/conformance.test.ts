import { describe, expect, it } from 'vitest';
import { compilePattern, matchesPattern } from '../../../../../../local/aws/events/pattern/index.ts';

/**
 * Conformance tables written from the Amazon EventBridge User Guide. Each group names the section it
 * comes from. Where the guide is silent or wrong, the case follows the behaviour AWS was observed to
 * have (recorded against the real service in localstack/localstack's AWS-validated
 * `tests/aws/services/events/event_pattern_templates`) or the matcher EventBridge runs (aws/event-ruler);
 * those cases say so.
 */
interface Case {
  readonly name: string;
  readonly pattern: unknown;
  readonly event: unknown;
  readonly expected: boolean;
}

function table(cases: readonly (readonly [string, unknown, unknown, boolean])[]): Case[] {
  return cases.map(([name, pattern, event, expected]) => ({ name, pattern, event, expected }));
}

function runGroup(title: string, cases: readonly Case[]): void {
  describe(title, () => {
    it.each(cases)('$name → $expected', ({ pattern, event, expected }) => {
      expect(compilePattern(pattern).matches(event)).toBe(expected);
    });
  });
}

const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

// "Event patterns" / "Event pattern syntax": the field must exist with the same nesting; values are
// arrays of alternatives; strings match character by character; other fields are ignored.
runGroup(
  'exact matching (eb-event-patterns, eb-create-pattern "Matching event values")',
  table([
    [
      'doc example: source, detail-type and detail.state',
      {
        source: ['aws.ec2'],
        'detail-type': ['EC2 Instance State-change Notification'],
        detail: { state: ['terminated'] },
      },
      ec2Event,
      true,
    ],
    [
      'one of several values (aws.ec2 or aws.fargate)',
      { source: ['aws.fargate', 'aws.ec2'] },
      ec2Event,
      true,
    ],
    ['no listed value', { source: ['aws.fargate', 'aws.s3'] }, ec2Event, false],
    ['all fields must match (AND)', { source: ['aws.ec2'], detail: { state: ['running'] } }, ec2Event, false],
    ['no case folding', { source: ['AWS.EC2'] }, ec2Event, false],
    ['no trimming or normalisation', { source: ['aws.ec2 '] }, ec2Event, false],
    ['field names are case sensitive', { Source: ['aws.ec2'] }, ec2Event, false],
    ['fields absent from the pattern are ignored', { region: ['us-west-1'] }, ec2Event, true],
    ['field missing from the event', { detail: { 'instance-type': ['t3.micro'] } }, ec2Event, false],
    ['same name at another nesting level does not count', { state: ['terminated'] }, ec2Event, false],
    ['leaf pattern against an object value', { detail: ['terminated'] }, ec2Event, false],
    ['nested pattern against a leaf value', { source: { name: ['aws.ec2'] } }, ec2Event, false],
    ['number equals number', { detail: { 'risk-score': [80] } }, { detail: { 'risk-score': 80 } }, true],
    ['number differs', { detail: { 'risk-score': [80] } }, { detail: { 'risk-score': 81 } }, false],
    [
      'number does not equal its string',
      { detail: { 'risk-score': [80] } },
      { detail: { 'risk-score': '80' } },
      false,
    ],
    [
      'string does not equal the number',
      { detail: { 'risk-score': ['80'] } },
      { detail: { 'risk-score': 80 } },
      false,
    ],
    // The guide claims 300, 300.0 and 3.0e2 differ; AWS was observed matching 300 against 300.0 (localstack
    // number_comparison_float) and event-ruler compares pattern numbers numerically.
    ['300 matches 300.0', { number: [300] }, JSON.parse('{"number": 300.0}'), true],
    ['300 matches 3.0e2', { number: [300] }, JSON.parse('{"number": 3.0e2}'), true],
    ['3.018e2 matches 301.8', { number: [3.018e2] }, { number: 301.8 }, true],
    ['negative numbers', { delta: [-5] }, { delta: -5 }, true],
    ['true matches true', { detail: { enabled: [true] } }, { detail: { enabled: true } }, true],
    ['true does not match false', { detail: { enabled: [true] } }, { detail: { enabled: false } }, false],
    ['false matches false', { detail: { enabled: [false] } }, { detail: { enabled: false } }, true],
    [
      'boolean does not match its string',
      { detail: { enabled: [true] } },
      { detail: { enabled: 'true' } },
      false,
    ],
    [
      'string "true" does not match boolean',
      { detail: { enabled: ['true'] } },
      { detail: { enabled: true } },
      false,
    ],
    ['mixed-type alternatives', { detail: { code: ['x', 7, true, null] } }, { detail: { code: 7 } }, true],
    [
      'deep nesting',
      { detail: { a: { b: { c: ['deep'] } } } },
      { detail: { a: { b: { c: 'deep' } } } },
      true,
    ],
    [
      'deep nesting, wrong leaf',
      { detail: { a: { b: { c: ['deep'] } } } },
      { detail: { a: { b: { c: 'x' } } } },
      false,
    ],
    ['event that is not an object', { source: ['aws.ec2'] }, 'aws.ec2', false],
    ['event that is an array', { source: ['aws.ec2'] }, [ec2Event], false],
    ['event that is null', { source: [{ exists: false }] }, null, false],
  ]),
);

// event-ruler README "Caveat: Compiled rules and JSON keys with dots"; AWS observed the same
// (localstack dot_joining_pattern / dot_joining_event).
runGroup(
  'dots in field names (event-ruler key joining)',
  table([
    [
      'dotted pattern key matches nested event',
      { 'detail.state': ['running'] },
      { detail: { state: 'running' } },
      true,
    ],
    [
      'nested pattern matches dotted event key',
      { detail: { state: ['running'] } },
      { 'detail.state': 'running' },
      true,
    ],
    ['dotted key, wrong value', { 'detail.state': ['running'] }, { detail: { state: 'stopped' } }, false],
  ]),
);

// "Matching null values and empty strings": null and "" are distinct values; neither means "missing".
const autoscalingEvent = {
  version: '0',
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  account: '123456789012',
  time: '2015-11-11T21:31:47Z',
  region: 'us-east-1',
  resources: [],
  detail: { eventVersion: '', responseElements: null },
};
runGroup(
  'null values and empty strings (eb-event-patterns-null-values)',
  table([
    ['doc: [""] matches the empty string', { detail: { eventVersion: [''] } }, autoscalingEvent, true],
    ['doc: [null] matches null', { detail: { responseElements: [null] } }, autoscalingEvent, true],
    [
      'doc field matching example',
      {
        source: ['aws.autoscaling'],
        'detail-type': ['EC2 Instance Launch Successful'],
        detail: { responseElements: [null] },
      },
      autoscalingEvent,
      true,
    ],
    ['[""] does not match null', { detail: { responseElements: [''] } }, autoscalingEvent, false],
    ['[null] does not match ""', { detail: { eventVersion: [null] } }, autoscalingEvent, false],
    ['[null] does not match a missing field', { detail: { errorCode: [null] } }, autoscalingEvent, false],
    ['[""] does not match a missing field', { detail: { errorCode: [''] } }, autoscalingEvent, false],
    ['[null] does not match the string "null"', { detail: { x: [null] } }, { detail: { x: 'null' } }, false],
    // localstack arrays_empty_null_NEG (AWS-validated): an empty array holds no null.
    ['[null] does not match an empty array', { resources: [null] }, autoscalingEvent, false],
  ]),
);

// "Arrays in Amazon EventBridge event patterns": an event array matches when its intersection with the
// pattern's values is non-empty. event-ruler README "JSON Array Matching": objects inside arrays are
// matched as if they were the field's value, but one match never combines fields from different elements.
const employees = {
  employees: [
    { firstName: 'John', lastName: 'Doe' },
    { firstName: 'Anna', lastName: 'Smith' },
    { firstName: 'Peter', lastName: 'Jones' },
  ],
};
runGroup(
  'arrays (eb-event-patterns-arrays)',
  table([
    [
      'doc: first pattern value equals second event element',
      {
        resources: [
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
        ],
      },
      {
        resources: [
          'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        ],
      },
      true,
    ],
    ['empty intersection', { resources: ['arn:a', 'arn:b'] }, { resources: ['arn:c', 'arn:d'] }, false],
    ['empty event array', { resources: ['arn:a'] }, { resources: [] }, false],
    ['objects in an array: any element', { employees: { firstName: ['Anna'] } }, employees, true],
    ['objects in an array: no element', { employees: { firstName: ['Zoe'] } }, employees, false],
    [
      'two fields from the same element',
      { employees: { firstName: ['Anna'], lastName: ['Smith'] } },
      employees,
      true,
    ],
    [
      'two fields from different elements never combine',
      { employees: { firstName: ['Anna'], lastName: ['Jones'] } },
      employees,
      false,
    ],
    [
      'arrays of arrays are flattened',
      { employees: { firstName: ['Peter'] } },
      { employees: [[{ firstName: 'John' }, { firstName: 'Anna' }], [{ firstName: 'Peter' }]] },
      true,
    ],
    [
      'operators apply to each element',
      { tags: [{ prefix: 'env:' }] },
      { tags: ['team:a', 'env:prod'] },
      true,
    ],
    ['numeric on an array of numbers', { sizes: [{ numeric: ['>', 10] }] }, { sizes: [1, 20] }, true],
    ['numeric on an array of small numbers', { sizes: [{ numeric: ['>', 10] }] }, { sizes: [1, 2] }, false],
    [
      'independent arrays combine freely',
      { a: { x: [1] }, b: { y: [2] } },
      { a: [{ x: 0 }, { x: 1 }], b: [{ y: 2 }, { y: 3 }] },
      true,
    ],
  ]),
);

// "Comparison operators": prefix matching, incl. "Prefix matching while ignoring case".
runGroup(
  'prefix (eb-create-pattern-operators "Prefix matching")',
  table([
    [
      'doc: time starts with 2017-10-02',
      { time: [{ prefix: '2017-10-02' }] },
      { time: '2017-10-02T18:43:48Z' },
      true,
    ],
    ['other date', { time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-03T18:43:48Z' }, false],
    [
      'doc: European auto scaling events',
      { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] },
      { source: 'aws.autoscaling', region: 'eu-west-1' },
      true,
    ],
    ['prefix is case sensitive', { region: [{ prefix: 'eu-' }] }, { region: 'EU-west-1' }, false],
    ['prefix longer than the value', { region: [{ prefix: 'eu-west-1a' }] }, { region: 'eu-west-1' }, false],
    ['prefix only applies to strings', { code: [{ prefix: '12' }] }, { code: 123 }, false],
    ['empty prefix matches any string', { region: [{ prefix: '' }] }, { region: 'us-east-1' }, true],
    ['empty prefix does not match null', { region: [{ prefix: '' }] }, { region: null }, false],
    [
      'doc: prefix equals-ignore-case EventB',
      { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
      { detail: { service: 'EVENTBRIDGE' } },
      true,
    ],
    [
      'prefix equals-ignore-case, lower-case value',
      { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
      { detail: { service: 'eventbus' } },
      true,
    ],
    [
      'prefix equals-ignore-case, other prefix',
      { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
      { detail: { service: 'Lambda' } },
      false,
    ],
  ]),
);

runGroup(
  'suffix (eb-create-pattern-operators "Suffix matching")',
  table([
    ['doc: FileName ends with .png', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.png' }, true],
    ['other extension', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.jpg' }, false],
    ['suffix is case sensitive', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.PNG' }, false],
    ['suffix only applies to strings', { code: [{ suffix: '3' }] }, { code: 123 }, false],
    [
      'doc: suffix equals-ignore-case .png matches .PNG',
      { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
      { detail: { FileName: 'IMAGE.PNG' } },
      true,
    ],
    [
      'suffix equals-ignore-case, other extension',
      { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
      { detail: { FileName: 'image.gif' } },
      false,
    ],
  ]),
);

runGroup(
  'equals-ignore-case (eb-create-pattern-operators "Equals-ignore-case matching")',
  table([
    ['doc: alice matches Alice', { Name: [{ 'equals-ignore-case': 'alice' }] }, { Name: 'Alice' }, true],
    ['different name', { Name: [{ 'equals-ignore-case': 'alice' }] }, { Name: 'Alicia' }, false],
    [
      'detail-type in any casing',
      { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
      ec2Event,
      true,
    ],
    // localstack content_ignorecase_empty (AWS-validated).
    ['empty string matches empty string', { value: [{ 'equals-ignore-case': '' }] }, { value: '' }, true],
    ['only applies to strings', { value: [{ 'equals-ignore-case': '1' }] }, { value: 1 }, false],
  ]),
);

// "Anything-but matching": matches anything except what is listed. AWS was observed (localstack
// content_anything_*_null / _int_value / _missing_NEG) to match null and values of another type, and never
// to match a missing field.
runGroup(
  'anything-but (eb-create-pattern-operators "Anything-but matching")',
  table([
    [
      'doc: state is not initializing',
      { detail: { state: [{ 'anything-but': 'initializing' }] } },
      { detail: { state: 'running' } },
      true,
    ],
    [
      'state is initializing',
      { detail: { state: [{ 'anything-but': 'initializing' }] } },
      { detail: { state: 'initializing' } },
      false,
    ],
    [
      'missing field never matches',
      { detail: { state: [{ 'anything-but': 'initializing' }] } },
      { detail: {} },
      false,
    ],
    [
      'null is anything but a string',
      { detail: { state: [{ 'anything-but': 'initializing' }] } },
      { detail: { state: null } },
      true,
    ],
    [
      'a number is anything but a string',
      { detail: { state: [{ 'anything-but': 'initializing' }] } },
      { detail: { state: 12 } },
      true,
    ],
    [
      'exclusion is case sensitive',
      { detail: { state: [{ 'anything-but': 'initializing' }] } },
      { detail: { state: 'INITIALIZING' } },
      true,
    ],
    [
      'doc: x-limit is not 123',
      { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
      { detail: { 'x-limit': 124 } },
      true,
    ],
    [
      'x-limit is 123',
      { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
      { detail: { 'x-limit': 123 } },
      false,
    ],
    [
      'x-limit is 123.0 (numeric comparison)',
      { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
      JSON.parse('{"detail":{"x-limit":123.0}}'),
      false,
    ],
    [
      'the string "123" is anything but the number',
      { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
      { detail: { 'x-limit': '123' } },
      true,
    ],
    ['anything-but 0 excludes 0', { n: [{ 'anything-but': 0 }] }, { n: 0 }, false],
    [
      'doc: list of strings, other state',
      { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
      { detail: { state: 'running' } },
      true,
    ],
    [
      'doc: list of strings, excluded state',
      { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
      { detail: { state: 'overloaded' } },
      false,
    ],
    [
      'doc: list of numbers, other value',
      { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
      { detail: { 'x-limit': 150 } },
      true,
    ],
    [
      'doc: list of numbers, excluded value',
      { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
      { detail: { 'x-limit': 200 } },
      false,
    ],
    [
      'doc: not CloudTrail API calls',
      { 'detail-type': [{ 'anything-but': 'AWS API Call via CloudTrail' }] },
      ec2Event,
      true,
    ],
    ['doc: not from EC2 or S3', { source: [{ 'anything-but': ['aws.ec2', 'aws.s3'] }] }, ec2Event, false],
    [
      'array: one element not excluded is enough',
      { state: [{ 'anything-but': 'stopped' }] },
      { state: ['stopped', 'running'] },
      true,
    ],
    [
      'array: every element excluded',
      { state: [{ 'anything-but': 'stopped' }] },
      { state: ['stopped'] },
      false,
    ],
    [
      'doc: not prefix init',
      { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
      { detail: { state: 'running' } },
      true,
    ],
    [
      'prefix init excluded',
      { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
      { detail: { state: 'initializing' } },
      false,
    ],
    [
      'prefix form: a number is not excluded',
      { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
      { detail: { state: 12 } },
      true,
    ],
    [
      'prefix form: null is not excluded',
      { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
      { detail: { state: null } },
      true,
    ],
    [
      'prefix form: missing never matches',
      { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
      { detail: {} },
      false,
    ],
    [
      'doc: only custom sources',
      { source: [{ 'anything-but': { prefix: 'aws.' } }] },
      { source: 'com.mycompany.orders' },
      true,
    ],
    ['doc: AWS sources excluded', { source: [{ 'anything-but': { prefix: 'aws.' } }] }, ec2Event, false],
    [
      'prefix list: region outside US and EU',
      { region: [{ 'anything-but': { prefix: ['us-', 'eu-'] } }] },
      { region: 'ap-south-1' },
      true,
    ],
    [
      'prefix list: EU excluded',
      { region: [{ 'anything-but': { prefix: ['us-', 'eu-'] } }] },
      { region: 'eu-west-1' },
      false,
    ],
    [
      'doc: not ending in .png',
      { FileName: [{ 'anything-but': { suffix: '.png' } }] },
      { FileName: 'a.txt' },
      true,
    ],
    [
      'ending in .png excluded',
      { FileName: [{ 'anything-but': { suffix: '.png' } }] },
      { FileName: 'a.png' },
      false,
    ],
    [
      'suffix list',
      { FileName: [{ 'anything-but': { suffix: ['.png', '.gif'] } }] },
      { FileName: 'a.gif' },
      false,
    ],
    [
      'doc: ignore case excludes INITIALIZING',
      { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] },
      { state: 'INITIALIZING' },
      false,
    ],
    [
      'ignore case: other state',
      { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] },
      { state: 'Running' },
      true,
    ],
    [
      'ignore case list',
      { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'Overloaded'] } }] },
      { state: 'OVERLOADED' },
      false,
    ],
    [
      'doc: path without /lib/',
      { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
      { FilePath: '/usr/bin/env' },
      true,
    ],
    [
      'path with /lib/ excluded',
      { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
      { FilePath: '/usr/lib/libc.so' },
      false,
    ],
    [
      'wildcard list',
      { FilePath: [{ 'anything-but': { wildcard: ['*/lib/*', '*.tmp'] } }] },
      { FilePath: 'x.tmp' },
      false,
    ],
    [
      'wildcard form: a number is not excluded',
      { FilePath: [{ 'anything-but': { wildcard: '*/dir/*' } }] },
      { FilePath: 123 },
      true,
    ],
    // localstack content_anything_wildcard_empty (AWS-validated): "" only excludes the empty string.
    [
      'empty wildcard excludes only ""',
      { FilePath: [{ 'anything-but': { wildcard: '' } }] },
      { FilePath: 'dir/init/file' },
      true,
    ],
    [
      'anything-but beside an exact value',
      { state: ['stopped', { 'anything-but': ['stopped', 'running'] }] },
      { state: 'stopped' },
      true,
    ],
  ]),
);

// "Numeric matching": JSON numbers only; ranges from ">"/">=" optionally followed by "<"/"<=".
runGroup(
  'numeric (eb-create-pattern-operators "Numeric matching")',
  table([
    [
      'doc: c-count in (0, 5] at 5',
      { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
      { detail: { 'c-count': 5 } },
      true,
    ],
    [
      'c-count at 0 (open bottom)',
      { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
      { detail: { 'c-count': 0 } },
      false,
    ],
    [
      'c-count at 5.000001',
      { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
      { detail: { 'c-count': 5.000001 } },
      false,
    ],
    [
      'c-count at 0.5',
      { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
      { detail: { 'c-count': 0.5 } },
      true,
    ],
    [
      'doc: d-count below 10',
      { detail: { 'd-count': [{ numeric: ['<', 10] }] } },
      { detail: { 'd-count': 9.99 } },
      true,
    ],
    [
      'd-count at 10 (open top)',
      { detail: { 'd-count': [{ numeric: ['<', 10] }] } },
      { detail: { 'd-count': 10 } },
      false,
    ],
    [
      'doc: x-limit = 3.018e2',
      { detail: { 'x-limit': [{ numeric: ['=', 3.018e2] }] } },
      { detail: { 'x-limit': 301.8 } },
      true,
    ],
    [
      'x-limit = 3.018e2, other value',
      { detail: { 'x-limit': [{ numeric: ['=', 3.018e2] }] } },
      { detail: { 'x-limit': 301.81 } },
      false,
    ],
    ['>= includes the bound', { n: [{ numeric: ['>=', 10] }] }, { n: 10 }, true],
    ['>= excludes below', { n: [{ numeric: ['>=', 10] }] }, { n: 9.999999 }, false],
    ['<= includes the bound', { n: [{ numeric: ['<=', -1] }] }, { n: -1 }, true],
    ['>= and < together', { n: [{ numeric: ['>=', 10, '<', 20] }] }, { n: 20 }, false],
    // localstack numeric-int-float (AWS-validated).
    ['101.0 is > 100', { number: [{ numeric: ['>', 100] }] }, JSON.parse('{"number": 101.0}'), true],
    // localstack numeric-string_NEG / numeric-null_NEG (AWS-validated).
    ['a numeric string is not a number', { n: [{ numeric: ['>', 0] }] }, { n: '5' }, false],
    ['null is not a number', { n: [{ numeric: ['>', 0] }] }, { n: null }, false],
    ['a boolean is not a number', { n: [{ numeric: ['>', 0] }] }, { n: true }, false],
    ['missing is not a number', { n: [{ numeric: ['>', 0] }] }, {}, false],
    ['either of two ranges', { n: [{ numeric: ['<', 0] }, { numeric: ['>', 100] }] }, { n: 150 }, true],
    [
      'range boundaries at the documented limit',
      { n: [{ numeric: ['>=', -5e9, '<=', 5e9] }] },
      { n: 4_999_999_999 },
      true,
    ],
    [
      'doc: every field must be in range',
      { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }] } },
      { detail: { 'c-count': 5, 'd-count': 10 } },
      false,
    ],
  ]),
);

runGroup(
  'IP address matching (eb-create-pattern-operators "IP address matching")',
  table([
    [
      'doc: 10.0.0.0/24 contains 10.0.0.33',
      { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
      { detail: { sourceIPAddress: '10.0.0.33' } },
      true,
    ],
    [
      '10.0.0.0/24 contains 10.0.0.255',
      { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
      { detail: { sourceIPAddress: '10.0.0.255' } },
      true,
    ],
    [
      '10.0.0.0/24 does not contain 10.0.1.1',
      { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
      { detail: { sourceIPAddress: '10.0.1.1' } },
      false,
    ],
    ['/8 block', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: '10.200.3.4' }, true],
    ['/0 block contains every IPv4 address', { ip: [{ cidr: '0.0.0.0/0' }] }, { ip: '203.0.113.9' }, true],
    ['a hostname is not an address', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: 'ec2.amazonaws.com' }, false],
    // localstack content_ip_address_bad_type_NEG (AWS-validated).
    ['a number is not an address', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: 123 }, false],
    [
      'IPv6 block contains an address',
      { ip: [{ cidr: '2001:db8:1234:1a00::/64' }] },
      { ip: '2001:db8:1234:1a00::9' },
      true,
    ],
    [
      'IPv6 block, expanded spelling',
      { ip: [{ cidr: '2001:db8:1234:1a00::/64' }] },
      { ip: '2001:0db8:1234:1a00:0000:0000:0000:0009' },
      true,
    ],
    [
      'IPv6 block excludes the next /64',
      { ip: [{ cidr: '2001:db8:1234:1a00::/64' }] },
      { ip: '2001:db8:1234:1a01::1' },
      false,
    ],
    ['an IPv4 address is not in an IPv6 block', { ip: [{ cidr: '::/0' }] }, { ip: '10.0.0.1' }, false],
    // event-ruler compiles a plain string that is an IP literal to an address match.
    [
      'exact IPv6 literal matches another spelling',
      { ip: ['2001:db8::1'] },
      { ip: '2001:DB8:0:0:0:0:0:1' },
      true,
    ],
    ['exact IPv4 literal', { ip: ['192.0.2.1'] }, { ip: '192.0.2.1' }, true],
    ['exact IPv4 literal, other address', { ip: ['192.0.2.1'] }, { ip: '192.0.2.10' }, false],
  ]),
);

// "Exists matching": presence of a leaf. Only leaves count; an object or an empty array is not one.
runGroup(
  'exists (eb-create-pattern-operators "Exists matching")',
  table([
    [
      'doc: description exists',
      { detail: { description: [{ exists: true }] } },
      { detail: { description: 'x' } },
      true,
    ],
    ['exists: true, field missing', { detail: { description: [{ exists: true }] } }, { detail: {} }, false],
    [
      'exists: true, null is a value',
      { detail: { description: [{ exists: true }] } },
      { detail: { description: null } },
      true,
    ],
    [
      'exists: true, empty string is a value',
      { detail: { description: [{ exists: true }] } },
      { detail: { description: '' } },
      true,
    ],
    [
      'exists: true, object is not a leaf',
      { detail: { description: [{ exists: true }] } },
      { detail: { description: { a: 1 } } },
      false,
    ],
    // localstack exists_list_empty_NEG (AWS-validated).
    ['exists: true, empty array has no leaf', { resources: [{ exists: true }] }, autoscalingEvent, false],
    ['exists: true, array of values', { resources: [{ exists: true }] }, ec2Event, true],
    [
      'doc: c-count does not exist',
      { detail: { 'c-count': [{ exists: false }] } },
      { detail: { state: ['initializing', 'running'] } },
      true,
    ],
    [
      'doc: c-count is an object, not a leaf',
      { detail: { 'c-count': [{ exists: false }] } },
      { detail: { 'c-count': { c1: 100 } } },
      true,
    ],
    [
      'exists: false, field present',
      { detail: { 'c-count': [{ exists: false }] } },
      { detail: { 'c-count': 3 } },
      false,
    ],
    [
      'exists: false, null is present',
      { detail: { 'c-count': [{ exists: false }] } },
      { detail: { 'c-count': null } },
      false,
    ],
    ['exists: false, empty array', { resources: [{ exists: false }] }, autoscalingEvent, true],
    ['exists: false, parent missing', { detail: { errorCode: [{ exists: false }] } }, { source: 'x' }, true],
    [
      'exists: false, parent is a leaf',
      { detail: { errorCode: [{ exists: false }] } },
      { detail: 'x' },
      true,
    ],
    // localstack or-exists-parent (AWS-validated): alternatives within one field.
    [
      'anything-but or exists: false, field missing',
      { detail: { homemade: [{ 'anything-but': ['roses'] }, { exists: false }] } },
      { detail: { purchased: 789 } },
      true,
    ],
    [
      'anything-but or exists: false, excluded value',
      { detail: { homemade: [{ 'anything-but': ['roses'] }, { exists: false }] } },
      { detail: { homemade: 'roses' } },
      false,
    ],
    [
      'anything-but or exists: false, other value',
      { detail: { homemade: [{ 'anything-but': ['roses'] }, { exists: false }] } },
      { detail: { homemade: 'tulips' } },
      true,
    ],
    [
      'exists: false within the array element chosen for another field',
      { items: { kind: ['book'], discount: [{ exists: false }] } },
      { items: [{ kind: 'pen', discount: 5 }, { kind: 'book' }] },
      true,
    ],
    [
      'exists: false fails when the chosen element has the field',
      { items: { kind: ['book'], discount: [{ exists: false }] } },
      { items: [{ kind: 'pen' }, { kind: 'book', discount: 5 }] },
      false,
    ],
    [
      'doc: successful calls only (no errorCode)',
      { detail: { errorCode: [{ exists: false }] } },
      { detail: { eventName: 'PutBucketPolicy' } },
      true,
    ],
  ]),
);

// "Wildcard matching": "*" stands for zero or more characters; "\*" and "\\" are literal.
runGroup(
  'wildcard (eb-create-pattern-operators "Wildcard matching")',
  table([
    [
      'doc: any account, any bus',
      { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
      { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/myEventBus' },
      true,
    ],
    [
      'other region',
      { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
      { EventBusArn: 'arn:aws:events:us-west-2:123456789012:event-bus/myEventBus' },
      false,
    ],
    // localstack content_wildcard_nonrepeating (AWS-validated): "*" crosses "/".
    [
      'one * spans several path segments',
      { FileName: [{ wildcard: '/Users/*/doc.txt' }] },
      { FileName: '/Users/ls_user/dir/dir/doc.txt' },
      true,
    ],
    [
      'doc: .png files under dir',
      { FileName: [{ wildcard: '*/dir/*.png' }] },
      { FileName: 'home/dir/a.png' },
      true,
    ],
    [
      '.png files elsewhere',
      { FileName: [{ wildcard: '*/dir/*.png' }] },
      { FileName: 'home/other/a.png' },
      false,
    ],
    ['* matches zero characters', { v: [{ wildcard: 'a*b' }] }, { v: 'ab' }, true],
    ['* alone matches the empty string', { v: [{ wildcard: '*' }] }, { v: '' }, true],
    ['literal text must match fully', { v: [{ wildcard: 'abc' }] }, { v: 'abcd' }, false],
    ['anchored at both ends', { v: [{ wildcard: 'a*c' }] }, { v: 'abcd' }, false],
    ['pieces must not overlap', { v: [{ wildcard: 'ab*ba' }] }, { v: 'aba' }, false],
    ['repeated pieces', { v: [{ wildcard: '*ab*ab*' }] }, { v: 'xxabyyab' }, true],
    ['escaped asterisk is literal', { v: [{ wildcard: 'a\\*b' }] }, { v: 'a*b' }, true],
    ['escaped asterisk is not a wildcard', { v: [{ wildcard: 'a\\*b' }] }, { v: 'axb' }, false],
    ['escaped backslash is literal', { v: [{ wildcard: 'a\\\\b' }] }, { v: 'a\\b' }, true],
    ['wildcard is case sensitive', { v: [{ wildcard: 'A*' }] }, { v: 'abc' }, false],
    ['wildcard only applies to strings', { v: [{ wildcard: '1*' }] }, { v: 123 }, false],
  ]),
);

const cloudwatch = { source: 'aws.cloudwatch', metricName: 'CPUUtilization', namespace: 'AWS/Lambda' };
// "$or matching" (eb-create-pattern-operators "Or matching") and event-ruler README "$or" examples.
runGroup(
  '$or (eb-create-pattern-operators "Or matching")',
  table([
    [
      'source and (metricName or namespace): metricName',
      {
        source: ['aws.cloudwatch'],
        $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
      },
      cloudwatch,
      true,
    ],
    [
      'source and (metricName or namespace): namespace',
      { source: ['aws.cloudwatch'], $or: [{ metricName: ['ReadLatency'] }, { namespace: ['AWS/Lambda'] }] },
      cloudwatch,
      true,
    ],
    [
      'neither alternative',
      { source: ['aws.cloudwatch'], $or: [{ metricName: ['ReadLatency'] }, { namespace: ['AWS/EC2'] }] },
      cloudwatch,
      false,
    ],
    [
      'alternatives hold but the shared field does not',
      { source: ['aws.ec2'], $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }] },
      cloudwatch,
      false,
    ],
    [
      'doc: Location is New York, or Day is Monday',
      { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] },
      { Location: 'Boston', Day: 'Monday' },
      true,
    ],
    [
      'or has an and inside',
      {
        source: ['aws.cloudwatch'],
        $or: [{ metricName: ['x'] }, { metricType: ['MetricType'], namespace: ['AWS/Lambda'] }],
      },
      { ...cloudwatch, metricType: 'MetricType' },
      true,
    ],
    [
      'or has an and inside, one part missing',
      {
        source: ['aws.cloudwatch'],
        $or: [{ metricName: ['x'] }, { metricType: ['MetricType'], namespace: ['AWS/Lambda'] }],
      },
      cloudwatch,
      false,
    ],
    [
      'nested or',
      {
        source: ['aws.cloudwatch'],
        $or: [
          { metricName: ['x'] },
          { namespace: ['AWS/Lambda'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] },
          { scope: ['Service'] },
        ],
      },
      { ...cloudwatch, spaceId: 1000 },
      true,
    ],
    [
      'nested or, inner alternatives fail',
      {
        source: ['aws.cloudwatch'],
        $or: [
          { metricName: ['x'] },
          { namespace: ['AWS/Lambda'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] },
        ],
      },
      { ...cloudwatch, spaceId: 1 },
      false,
    ],
    [
      'parallel or: both groups must hold',
      {
        $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }],
        detail: {
          $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }],
        },
      },
      { metricName: 'CPUUtilization', detail: { 'detail-type': 'CloudWatch Alarm State Change' } },
      true,
    ],
    [
      'parallel or: second group fails',
      {
        $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }],
        detail: {
          $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }],
        },
      },
      { metricName: 'CPUUtilization', detail: { source: 'aws.ec2' } },
      false,
    ],
    [
      'or with operators',
      {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'x-limit': [{ 'anything-but': [100, 200] }] },
        ],
      },
      { 'c-count': 9, 'x-limit': 150 },
      true,
    ],
    [
      'or with exists: false in one alternative',
      { $or: [{ errorCode: [{ exists: false }] }, { errorCode: ['AccessDenied'] }] },
      { errorCode: 'AccessDenied' },
      true,
    ],
  ]),
);

// "Complex example with multiple matching", with the sample event of event-ruler's README.
const complexPattern = {
  time: [{ prefix: '2017-10-02' }],
  detail: {
    state: [{ 'anything-but': 'initializing' }],
    'c-count': [{ numeric: ['>', 0, '<=', 5] }],
    'd-count': [{ numeric: ['<', 10] }],
    'x-limit': [{ 'anything-but': [100, 200, 300] }],
    'source-ip': [{ cidr: '10.0.0.0/8' }],
  },
};
const complexEvent = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};
runGroup(
  'complex example (eb-create-pattern-operators "Complex example with multiple matching")',
  table([
    ['doc example matches', complexPattern, complexEvent, true],
    [
      'one range fails',
      complexPattern,
      { ...complexEvent, detail: { ...complexEvent.detail, 'd-count': 11 } },
      false,
    ],
    [
      'excluded x-limit',
      complexPattern,
      { ...complexEvent, detail: { ...complexEvent.detail, 'x-limit': 300 } },
      false,
    ],
    [
      'address outside the block',
      complexPattern,
      { ...complexEvent, detail: { ...complexEvent.detail, 'source-ip': '11.0.0.1' } },
      false,
    ],
    ['other day', complexPattern, { ...complexEvent, time: '2017-10-03T00:00:00Z' }, false],
  ]),
);

describe('public API', () => {
  it('accepts the pattern as JSON text', () => {
    const matcher = compilePattern('{"source": ["aws.ec2"], "detail": {"state": ["terminated"]}}');
    expect(matcher.matches(ec2Event)).toBe(true);
    expect(matcher.matches({ ...ec2Event, source: 'aws.s3' })).toBe(false);
  });

  it('reuses a compiled matcher across events', () => {
    const matcher = compilePattern({ detail: { state: [{ prefix: 'term' }] } });
    const states = ['terminated', 'running', 'terminating', 'stopped'];
    expect(states.map((state) => matcher.matches({ detail: { state } }))).toEqual([true, false, true, false]);
  });

  it('matchesPattern is the one-shot form', () => {
    expect(matchesPattern({ source: ['aws.ec2'] }, ec2Event)).toBe(true);
    expect(matchesPattern({ source: ['aws.s3'] }, ec2Event)).toBe(false);
  });

  it('lets a later duplicate key replace an earlier one, as AWS does', () => {
    expect(matchesPattern('{"source": ["aws.s3"], "source": ["aws.ec2"]}', ec2Event)).toBe(true);
  });
});
