import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bucketFindingOf,
  isSensitiveDataFinding,
  objectClassificationOf,
} from '../../../lambdas/domain/macie-finding.ts';
import { MacieFinding, MacieFindingEvent } from '../../../lambdas/domain/macie-finding-schema.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely to make malformed findings
type Json = any;

const fixture = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../fixtures/macie/${name}`, import.meta.url), 'utf8'));

const multipleCsv = () => fixture('sensitive-data-finding-multiple-csv.eventbridge.json');
const personalTxt = () => fixture('sensitive-data-finding-personal-txt.eventbridge.CONSTRUCTED.json');
const bucketPublic = () => fixture('policy-finding-S3BucketPublic.eventbridge.CONSTRUCTED.json');

describe('the Macie finding schema', () => {
  it('reads real finding events and GetFindings findings, keeping every field it does not read', () => {
    const event = MacieFindingEvent.parse(multipleCsv());
    expect(event.detail.type).toBe('SensitiveData:S3Object/Multiple');
    expect((event.detail as Json).classificationDetails.detailedResultsLocation).toMatch(/^s3:\/\//);
    expect(MacieFindingEvent.parse(personalTxt()).detail.type).toBe('SensitiveData:S3Object/Personal');
    expect(MacieFindingEvent.parse(bucketPublic()).detail.category).toBe('POLICY');
    for (const finding of fixture('GetFindings-response.example.json').findings) {
      expect(MacieFinding.parse(finding).id).toBe(finding.id);
    }
  });

  it('rejects the truncated documentation example: it names no bucket', () => {
    const result = MacieFindingEvent.safeParse(fixture('policy-finding-doc-truncated.eventbridge.json'));
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(
      expect.arrayContaining(['detail.category', 'detail.resourcesAffected']),
    );
  });

  it('rejects what it relies on when it is wrong', () => {
    const cases: [string, (event: Json) => void][] = [
      ['unknown severity', (e) => (e.detail.severity.description = 'Severe')],
      ['a score out of range', (e) => (e.detail.severity.score = 9)],
      ['an unknown type', (e) => (e.detail.type = 'SensitiveData:Bucket/Multiple')],
      ['a category that contradicts the type', (e) => (e.detail.category = 'POLICY')],
      ['no object', (e) => (e.detail.resourcesAffected.s3Object = null)],
      ['no classification details', (e) => (e.detail.classificationDetails = null)],
      ['a timestamp that is no timestamp', (e) => (e.detail.updatedAt = 'yesterday')],
      ['a negative count', (e) => (e.detail.classificationDetails.result.sensitiveData[0].totalCount = -1)],
      ['another source', (e) => (e.source = 'aws.guardduty')],
    ];
    for (const [what, spoil] of cases) {
      const event = multipleCsv();
      spoil(event);
      expect(MacieFindingEvent.safeParse(event).success, what).toBe(false);
    }
  });
});

describe('a sensitive-data finding as the classification of its object', () => {
  it('takes the severity, categories, types with counts, the finding id and its updatedAt', () => {
    const finding = MacieFinding.parse(multipleCsv().detail);
    expect(isSensitiveDataFinding(finding)).toBe(true);
    expect(objectClassificationOf(finding)).toEqual({
      bucket: 'DOC-EXAMPLE-BUCKET1',
      key: 'macie-workshop/sample-data.csv',
      eTag: '00000000000000000000000000000000',
      severity: 'High',
      categories: ['FINANCIAL_INFORMATION', 'PERSONAL_INFORMATION'],
      types: [
        'ADDRESS',
        'CREDIT_CARD_NUMBER',
        'DATE_OF_BIRTH',
        'NAME',
        'PHONE_NUMBER',
        'USA_SOCIAL_SECURITY_NUMBER',
      ],
      typeCounts: {
        CREDIT_CARD_NUMBER: 30,
        USA_SOCIAL_SECURITY_NUMBER: 30,
        PHONE_NUMBER: 28,
        DATE_OF_BIRTH: 30,
        NAME: 20,
        ADDRESS: 28,
      },
      findingIds: ['00000000000000000000000000000001'],
      findingType: 'SensitiveData:S3Object/Multiple',
      jobId: '55555555555555555555555555555555',
      updatedAt: '2021-10-25T23:25:04.250Z',
    });
  });

  it('keeps the version analysed, counts custom identifiers by name, and leaves out empty detections', () => {
    const event = personalTxt();
    const result = event.detail.classificationDetails.result;
    result.customDataIdentifiers = {
      totalCount: 2,
      detections: [
        {
          arn: 'arn:aws:macie2:us-east-1:111122223333:custom-data-identifier/1',
          name: 'EMPLOYEE_ID',
          count: 2,
        },
        { arn: 'arn:aws:macie2:us-east-1:111122223333:custom-data-identifier/2', name: 'UNUSED', count: 0 },
      ],
    };
    result.sensitiveData.push({ category: 'CREDENTIALS', totalCount: 0, detections: [] });
    result.sensitiveData[0].detections.push({ type: 'EMAIL_ADDRESS', count: 0 });
    event.detail.classificationDetails.jobId = null;
    event.detail.updatedAt = '2024-05-14T14:10:00Z';
    const verdict = objectClassificationOf(MacieFinding.parse(event.detail));
    expect(verdict).toMatchObject({
      versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
      categories: ['CUSTOM_IDENTIFIER', 'PERSONAL_INFORMATION'],
      typeCounts: { USA_SOCIAL_SECURITY_NUMBER: 2, NAME: 1, EMPLOYEE_ID: 2 },
      updatedAt: '2024-05-14T14:10:00.000Z',
    });
    expect(verdict.jobId).toBeUndefined();
    expect(verdict.types).not.toContain('EMAIL_ADDRESS');
  });

  it('reads a finding without any sensitive-data list as empty', () => {
    const event = personalTxt();
    event.detail.classificationDetails.result.sensitiveData = null;
    delete event.detail.classificationDetails.result.customDataIdentifiers;
    event.detail.resourcesAffected.s3Object.eTag = null;
    const verdict = objectClassificationOf(MacieFinding.parse(event.detail));
    expect(verdict).toMatchObject({ categories: [], types: [], typeCounts: {} });
    expect(verdict.eTag).toBeUndefined();
  });
});

describe('a policy finding as a fact about its bucket', () => {
  it('keeps its type, severity, id, count and title', () => {
    const finding = MacieFinding.parse(bucketPublic().detail);
    expect(isSensitiveDataFinding(finding)).toBe(false);
    expect(bucketFindingOf(finding)).toEqual({
      bucket: 'customer-exports',
      type: 'Policy:IAMUser/S3BucketPublic',
      severity: 'High',
      findingId: finding.id,
      count: 1,
      title: finding.title,
      updatedAt: '2024-05-14T13:06:02.000Z',
    });
  });

  it('counts a finding without a count once', () => {
    const event = bucketPublic();
    delete event.detail.count;
    delete event.detail.title;
    const fact = bucketFindingOf(MacieFinding.parse(event.detail));
    expect(fact.count).toBe(1);
    expect(fact.title).toBeUndefined();
  });
});
