import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MacieFinding } from '../../../../../lambdas/domain/macie-finding-schema.ts';
import {
  type AnalysedObject,
  findingTypeOf,
  sensitiveDataFinding,
  severityOf,
} from '../../../../../local/aws/macie/findings.ts';
import {
  type FileKind,
  fileKindOf,
  MAX_OCCURRENCES,
  MAX_SEGMENT,
  type ScanResult,
  scanObject,
} from '../../../../../local/aws/macie/scanner.ts';

/** The text as a stream of small chunks, split mid-character, as a disk read may split it. */
function streamOf(text: string, chunkSize = 7): Readable {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += chunkSize)
    chunks.push(bytes.subarray(start, start + chunkSize));
  return Readable.from(chunks);
}

const scan = (text: string, kind: FileKind) => scanObject(streamOf(text), kind);
const detection = (result: ScanResult, type: string) => result.detections.find((d) => d.type === type);

describe('file kinds', () => {
  it('come from the content type, else the extension, else plain text', () => {
    expect(fileKindOf('a.bin', 'text/csv; charset=utf-8')).toBe('csv');
    expect(fileKindOf('a.CSV', 'application/octet-stream')).toBe('csv');
    expect(fileKindOf('a', 'application/json')).toBe('json');
    expect(fileKindOf('a.json', 'binary/octet-stream')).toBe('json');
    expect(fileKindOf('a.ndjson', '')).toBe('jsonl');
    expect(fileKindOf('a.jsonl', '')).toBe('jsonl');
    expect(fileKindOf('a', 'application/x-ndjson')).toBe('jsonl');
    expect(fileKindOf('notes', 'text/plain')).toBe('text');
  });
});

describe('plain text', () => {
  it('locates occurrences by line and column, across chunk boundaries and CRLF', async () => {
    const result = await scan(
      'Dear Ada,\r\nyour card 4111 1111 1111 1111 is on file.\r\nSSN: 123-45-6789 ✓\n',
      'text',
    );
    expect(result.mimeType).toBe('text/plain');
    expect(detection(result, 'CREDIT_CARD_NUMBER')).toEqual({
      type: 'CREDIT_CARD_NUMBER',
      count: 1,
      occurrences: { lineRanges: [{ start: 2, end: 2, startColumn: 11 }] },
    });
    expect(detection(result, 'USA_SOCIAL_SECURITY_NUMBER')?.occurrences).toEqual({
      lineRanges: [{ start: 3, end: 3, startColumn: 6 }],
    });
  });

  it('finds nothing in ordinary text full of numbers, dates and ids', async () => {
    const text = [
      'Invoice INV-2026-000123, order 1234567890123456, dated 2026-11-30 10:15:00.',
      'Total $1,234.56 for 42 items; ticket #998877665; version 3.14.159; port 4710.',
      'Account 123456789 opened; ref 0000-1111-2222; sha 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12.',
    ].join('\n');
    expect((await scan(text, 'text')).detections).toEqual([]);
  });

  it('pairs an access key id with a secret key a few lines away, not with one far away', async () => {
    const near = [
      '[default]',
      'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
      'region = us-east-1',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ];
    expect(detection(await scan(near.join('\n'), 'text'), 'AWS_CREDENTIALS')).toMatchObject({
      count: 1,
      occurrences: { lineRanges: [{ start: 2, end: 2, startColumn: 21 }] },
    });
    const secretFirst = ['secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'key: AKIAIOSFODNN7EXAMPLE'];
    expect(detection(await scan(secretFirst.join('\n'), 'text'), 'AWS_CREDENTIALS')?.count).toBe(1);
    const far = [
      'key: AKIAIOSFODNN7EXAMPLE',
      ...Array(10).fill('nothing here'),
      'secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ];
    expect(detection(await scan(far.join('\n'), 'text'), 'AWS_CREDENTIALS')).toBeUndefined();
    expect(
      detection(await scan('just a key id AKIAIOSFODNN7EXAMPLE', 'text'), 'AWS_CREDENTIALS'),
    ).toBeUndefined();
  });

  it('keeps fifteen occurrences and counts the rest', async () => {
    const text = Array.from({ length: 40 }, () => 'email ada@example.com').join('\n');
    const result = await scan(text, 'text');
    const emails = detection(result, 'EMAIL_ADDRESS')!;
    expect(emails.count).toBe(40);
    expect((emails.occurrences as { lineRanges: unknown[] }).lineRanges).toHaveLength(MAX_OCCURRENCES);
    expect(result.additionalOccurrences).toBe(true);
  });

  it('scans a line longer than a segment in pieces, with the right columns', async () => {
    const padding = 'x'.repeat(MAX_SEGMENT + 10);
    const result = await scan(`${padding} 4111111111111111\nsecond`, 'text');
    expect(detection(result, 'CREDIT_CARD_NUMBER')?.occurrences).toEqual({
      lineRanges: [{ start: 1, end: 1, startColumn: MAX_SEGMENT + 12 }],
    });
  });
});

describe('CSV', () => {
  it('locates cells by row (the header is row 1), column and column name; a SSN column needs no keyword', async () => {
    const csv =
      'name,SSN,card,notes\nAda,123456789,"4111 1111 1111 1111","call (206) 555-0100"\nAlan,219099999,5500000000000004,none\n';
    const result = await scan(csv, 'csv');
    expect(result.mimeType).toBe('text/csv');
    expect(detection(result, 'USA_SOCIAL_SECURITY_NUMBER')).toEqual({
      type: 'USA_SOCIAL_SECURITY_NUMBER',
      count: 2,
      occurrences: {
        cells: [
          { row: 2, column: 2, columnName: 'SSN', cellReference: null },
          { row: 3, column: 2, columnName: 'SSN', cellReference: null },
        ],
      },
    });
    expect(detection(result, 'CREDIT_CARD_NUMBER')?.count).toBe(2);
    expect(detection(result, 'PHONE_NUMBER')?.occurrences).toEqual({
      cells: [{ row: 2, column: 4, columnName: 'notes', cellReference: null }],
    });
  });

  it('pairs credentials within a row only', async () => {
    const csv = [
      'user,access_key_id,secret_access_key',
      'ci,AKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'other,AKIAI44QH8DHBEXAMPLE,',
    ].join('\n');
    expect(detection(await scan(csv, 'csv'), 'AWS_CREDENTIALS')).toEqual({
      type: 'AWS_CREDENTIALS',
      count: 1,
      occurrences: { cells: [{ row: 2, column: 2, columnName: 'access_key_id', cellReference: null }] },
    });
  });

  it('does not flag a plain nine-digit column that is not named SSN', async () => {
    expect((await scan('order,amount\n123456789,12.00\n', 'csv')).detections).toEqual([]);
  });
});

describe('JSON', () => {
  it('locates values by JSON path as Macie writes it, numbers included', async () => {
    const json = JSON.stringify({
      customers: [
        { name: 'Ada', 'Card Number': '4111-1111-1111-1111', ssn: '123456789', active: true, tags: null },
        { name: 'Alan', 'Card Number': 5500000000000004, contact: { email: 'alan@example.com' } },
      ],
      "it's": 'x',
    });
    const result = await scan(json, 'json');
    expect(result.mimeType).toBe('application/json');
    expect(detection(result, 'CREDIT_CARD_NUMBER')?.occurrences).toEqual({
      records: [
        { recordIndex: 0, jsonPath: "$.customers[0]['Card Number']" },
        { recordIndex: 0, jsonPath: "$.customers[1]['Card Number']" },
      ],
    });
    expect(detection(result, 'USA_SOCIAL_SECURITY_NUMBER')?.occurrences).toEqual({
      records: [{ recordIndex: 0, jsonPath: '$.customers[0].ssn' }],
    });
    expect(detection(result, 'EMAIL_ADDRESS')?.occurrences).toEqual({
      records: [{ recordIndex: 0, jsonPath: '$.customers[1].contact.email' }],
    });
  });

  it('tracks paths through nested arrays, empty containers and a scalar document', async () => {
    const json =
      '[[], {}, [["x", {"deep": ["a", "ada@example.com"]}]], {"k": {"l": []}, "m": "bob@example.com"}]';
    expect(detection(await scan(json, 'json'), 'EMAIL_ADDRESS')?.occurrences).toEqual({
      records: [
        { recordIndex: 0, jsonPath: '$[2][0][1].deep[1]' },
        { recordIndex: 0, jsonPath: '$[3].m' },
      ],
    });
    expect(detection(await scan('"ada@example.com"', 'json'), 'EMAIL_ADDRESS')?.occurrences).toEqual({
      records: [{ recordIndex: 0, jsonPath: '$' }],
    });
  });

  it('pairs credentials in one object', async () => {
    const json = JSON.stringify({
      AccessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    });
    expect(detection(await scan(json, 'json'), 'AWS_CREDENTIALS')?.occurrences).toEqual({
      records: [{ recordIndex: 0, jsonPath: '$.AccessKeyId' }],
    });
  });

  it('fails on a document that is not JSON (the job then reports an error: the request is FAILED, not clean)', async () => {
    await expect(scan('{"a": ', 'json')).rejects.toThrow(/ends inside/);
    await expect(scan('{"a": nope}', 'json')).rejects.toThrow();
  });
});

describe('JSON Lines', () => {
  it('counts records from 0, one per line, and scans a line that is not JSON as text', async () => {
    const lines = [
      '{"ssn":"123-45-6789"}',
      '',
      '{"card":4111111111111111}',
      'not json: ada@example.com',
    ].join('\n');
    const result = await scan(lines, 'jsonl');
    expect(detection(result, 'USA_SOCIAL_SECURITY_NUMBER')?.occurrences).toEqual({
      records: [{ recordIndex: 0, jsonPath: '$.ssn' }],
    });
    expect(detection(result, 'CREDIT_CARD_NUMBER')?.occurrences).toEqual({
      records: [{ recordIndex: 2, jsonPath: '$.card' }],
    });
    expect(detection(result, 'EMAIL_ADDRESS')?.occurrences).toEqual({
      records: [{ recordIndex: 3, jsonPath: '$' }],
    });
  });
});

describe('findings', () => {
  const object: AnalysedObject = {
    bucket: 'finance-exports',
    key: '2026/cards.csv',
    versionId: 'null',
    etag: '"0123456789abcdef0123456789abcdef"',
    size: 120,
    lastModified: new Date('2026-11-30T08:00:00Z'),
  };
  const context = {
    accountId: '000000000000',
    region: 'us-east-1',
    partition: 'aws',
    jobId: 'a'.repeat(32),
    at: new Date('2026-11-30T09:00:00Z'),
  };

  it('are real-format Macie findings, read by the same schema as the real ones', async () => {
    const result = await scan('name,card,email\nAda,4111111111111111,ada@example.com\n', 'csv');
    const finding = sensitiveDataFinding(object, result, context)!;
    const parsed = MacieFinding.parse(finding);
    expect(parsed).toMatchObject({
      type: 'SensitiveData:S3Object/Multiple',
      category: 'CLASSIFICATION',
      severity: { description: 'High', score: 3 },
      resourcesAffected: {
        s3Bucket: { name: 'finance-exports' },
        s3Object: { key: '2026/cards.csv', versionId: '' },
      },
      classificationDetails: { jobId: context.jobId, result: { mimeType: 'text/csv' } },
      updatedAt: '2026-11-30T09:00:00.000Z',
    });
    expect(sensitiveDataFinding(object, result, context)!.id).toBe(finding.id);
    expect(sensitiveDataFinding(object, await scan('nothing', 'text'), context)).toBeUndefined();
  });

  it('have Macie severity scores and per-category types', () => {
    expect(severityOf('CREDIT_CARD_NUMBER', 1)).toBe('High');
    expect(severityOf('AWS_CREDENTIALS', 1)).toBe('High');
    expect(severityOf('USA_SOCIAL_SECURITY_NUMBER', 1)).toBe('High');
    expect(severityOf('EMAIL_ADDRESS', 99)).toBe('Low');
    expect(severityOf('PHONE_NUMBER', 100)).toBe('Medium');
    expect(findingTypeOf(['FINANCIAL_INFORMATION'])).toBe('SensitiveData:S3Object/Financial');
    expect(findingTypeOf(['PERSONAL_INFORMATION'])).toBe('SensitiveData:S3Object/Personal');
    expect(findingTypeOf(['CREDENTIALS'])).toBe('SensitiveData:S3Object/Credentials');
    expect(findingTypeOf(['CREDENTIALS', 'PERSONAL_INFORMATION'])).toBe('SensitiveData:S3Object/Multiple');
  });
});
