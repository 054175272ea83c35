/**
 * The archive in Glue and Athena: the table reads the archive's keys and lines as written
 * (projection, SerDe mappings), the workgroup enforces an encrypted result location and a scan
 * limit, every named query of the domain is in the template with its exact text, and the
 * AuditReader policy, evaluated as IAM does, allows running them and nothing beside.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_COLUMNS,
  AUDIT_DATABASE,
  AUDIT_TABLE,
  NAMED_AUDIT_QUERIES,
} from '../../lambdas/domain/audit-queries.ts';
import { authorize, type PolicyStatement } from '../support/iam-policy.ts';
import { buildCountersignStack, TEST_FULL_CONTEXT } from './build-stack.ts';
import { ACCOUNT, concrete, type Json, type Resources } from './concrete-template.ts';

const SLOW_SYNTH_MS = 120_000;
let resources: Resources;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const one = (type: string) => {
  const found = ofType(type);
  expect(found).toHaveLength(1);
  return found[0]!;
};

beforeAll(() => {
  resources = buildCountersignStack(TEST_FULL_CONTEXT).template.toJSON().Resources;
}, SLOW_SYNTH_MS);

/** concrete() with each bucket's `Ref` as its name (the logical id, as its ARN is `arn:aws:s3:::<id>`). */
const resolved = (value: Json): Json =>
  concrete(
    JSON.parse(
      JSON.stringify(value).replace(/\{"Ref":"([A-Za-z0-9]+)"\}/g, (ref, id: string) =>
        resources[id]?.Type === 'AWS::S3::Bucket' ? `"${id}"` : ref,
      ),
    ),
    resources,
  );
const archiveId = () => ofType('AWS::S3::Bucket').find(([, r]) => r.Properties.ObjectLockEnabled)![0];
const resultsId = () =>
  ofType('AWS::S3::Bucket').find(([, r]) => r.Properties.LifecycleConfiguration !== undefined)![0];

describe('the Glue table', () => {
  it('is countersign.audit_records over the archive, JSON SerDe with a mapping per camelCase key', () => {
    const [, database] = one('AWS::Glue::Database');
    expect(database.Properties.DatabaseInput.Name).toBe(AUDIT_DATABASE);
    const [, table] = one('AWS::Glue::Table');
    const input = resolved(table.Properties.TableInput);
    expect(table.Properties.DatabaseName).toBe(AUDIT_DATABASE);
    expect(input.Name).toBe(AUDIT_TABLE);
    expect(input.StorageDescriptor.Location).toBe(`s3://${archiveId()}/audit/`);
    expect(input.StorageDescriptor.Columns.map((column: Json) => column.Name)).toEqual(
      expect.arrayContaining(['record_id', 'schema_version', 'request_id', 'kind', 'actor', 'at', 'data']),
    );
    expect(input.StorageDescriptor.SerdeInfo).toEqual({
      SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
      Parameters: {
        'case.insensitive': 'FALSE',
        ...Object.fromEntries(AUDIT_COLUMNS.map((column) => [`mapping.${column.name}`, column.jsonField])),
      },
    });
    expect(input.PartitionKeys).toEqual([
      { Name: 'dt', Type: 'string' },
      { Name: 'hour', Type: 'int' },
    ]);
  });

  it('projects dt (dates to NOW) and hour (two digits) onto the archive keys: no crawler, no MSCK REPAIR', () => {
    const [, table] = one('AWS::Glue::Table');
    const parameters = resolved(table.Properties.TableInput.Parameters);
    expect(parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.range': '2025-01-01,NOW',
      'projection.dt.format': 'yyyy-MM-dd',
      'projection.hour.type': 'integer',
      'projection.hour.range': '0,23',
      'projection.hour.digits': '2',
      'storage.location.template': `s3://${archiveId()}/audit/dt=\${dt}/hour=\${hour}/`,
    });
    expect(ofType('AWS::Glue::Crawler')).toEqual([]);
  });
});

describe('the workgroup', () => {
  it('enforces an SSE-KMS result location in its own bucket, a scan limit and engine v3', () => {
    const [, workGroup] = one('AWS::Athena::WorkGroup');
    const configuration = resolved(workGroup.Properties.WorkGroupConfiguration);
    expect(configuration).toMatchObject({
      EnforceWorkGroupConfiguration: true,
      BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
      EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
      ResultConfiguration: {
        OutputLocation: `s3://${resultsId()}/results/`,
        EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: expect.stringContaining('arn:') },
      },
    });
  });

  it('writes results to a private, TLS-only, SSE-KMS bucket whose objects expire', () => {
    const [, results] = ofType('AWS::S3::Bucket').find(([id]) => id === resultsId())!;
    expect(results.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }],
      },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: {
        Rules: [expect.objectContaining({ ExpirationInDays: 30, Status: 'Enabled' })],
      },
    });
    const [, policy] = ofType('AWS::S3::BucketPolicy').find(
      ([, r]) => r.Properties.Bucket.Ref === resultsId(),
    )!;
    const statements = concrete(policy.Properties.PolicyDocument.Statement, resources) as PolicyStatement[];
    const get = (secure: string) =>
      authorize(
        {
          principalArn: `arn:aws:iam::${ACCOUNT}:role/admin`,
          action: 's3:GetObject',
          resource: `arn:aws:s3:::${resultsId()}/results/x.csv`,
          context: { 'aws:SecureTransport': [secure] },
        },
        { identity: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }], resource: statements },
      ).verdict;
    expect(get('false')).toBe('ExplicitDeny');
    expect(get('true')).toBe('Allowed');
  });

  it('holds every named query of the domain, text for text, in the countersign database', () => {
    const queries = ofType('AWS::Athena::NamedQuery').map(([, r]) => r.Properties);
    expect(queries.map((query) => query.Name).sort()).toEqual(NAMED_AUDIT_QUERIES.map((q) => q.name).sort());
    for (const query of NAMED_AUDIT_QUERIES) {
      const inTemplate = queries.find((candidate) => candidate.Name === query.name)!;
      expect(inTemplate.QueryString).toBe(query.sql);
      expect(inTemplate.Database).toBe(AUDIT_DATABASE);
      expect(inTemplate.WorkGroup).toEqual({ Ref: one('AWS::Athena::WorkGroup')[0] });
    }
  });
});

describe('the AuditReader policy', () => {
  const statements = () => {
    const [, policy] = ofType('AWS::IAM::ManagedPolicy').find(([id]) => id.includes('AuditReader'))!;
    return concrete(policy.Properties.PolicyDocument.Statement, resources) as PolicyStatement[];
  };
  const can = (action: string, resource: string, context: Record<string, string[]> = {}) =>
    authorize(
      { principalArn: `arn:aws:iam::${ACCOUNT}:role/auditor`, action, resource, context },
      { identity: statements(), resource: [] },
    ).verdict;
  const workGroup = `arn:aws:athena:us-east-1:${ACCOUNT}:workgroup/countersign`;

  it('runs queries on the workgroup and no other', () => {
    for (const action of [
      'athena:StartQueryExecution',
      'athena:GetQueryExecution',
      'athena:GetQueryResults',
      'athena:StopQueryExecution',
      'athena:ListNamedQueries',
      'athena:BatchGetNamedQuery',
    ]) {
      expect(can(action, workGroup)).toBe('Allowed');
      expect(can(action, `arn:aws:athena:us-east-1:${ACCOUNT}:workgroup/primary`)).toBe('ImplicitDeny');
    }
    expect(can('athena:DeleteWorkGroup', workGroup)).toBe('ImplicitDeny');
    expect(can('athena:UpdateWorkGroup', workGroup)).toBe('ImplicitDeny');
  });

  it('reads the table’s metadata, never changes it', () => {
    const table = `arn:aws:glue:us-east-1:${ACCOUNT}:table/countersign/audit_records`;
    expect(can('glue:GetTable', table)).toBe('Allowed');
    expect(can('glue:GetTable', `arn:aws:glue:us-east-1:${ACCOUNT}:table/countersign/other`)).toBe(
      'ImplicitDeny',
    );
    expect(can('glue:UpdateTable', table)).toBe('ImplicitDeny');
    expect(can('glue:DeleteTable', table)).toBe('ImplicitDeny');
  });

  it('reads archive objects and nothing else of the archive; reads and writes results', () => {
    const archive = `arn:aws:s3:::${archiveId()}`;
    const results = `arn:aws:s3:::${resultsId()}`;
    expect(can('s3:GetObject', `${archive}/audit/dt=2025-06-01/hour=01/x.jsonl.gz`)).toBe('Allowed');
    expect(can('s3:GetObject', `${archive}/digests/dt=2025-06-01/000000000001.json`)).toBe('ImplicitDeny');
    expect(can('s3:PutObject', `${archive}/audit/x`)).toBe('ImplicitDeny');
    expect(can('s3:ListBucket', archive, { 's3:prefix': ['audit/dt=2025-06-01/'] })).toBe('Allowed');
    expect(can('s3:ListBucket', archive, { 's3:prefix': ['digests/'] })).toBe('ImplicitDeny');
    expect(can('s3:PutObject', `${results}/results/abc.csv`)).toBe('Allowed');
    expect(can('s3:GetObject', `${results}/results/abc.csv`)).toBe('Allowed');
    expect(can('s3:DeleteObject', `${results}/results/abc.csv`)).toBe('ImplicitDeny');
  });

  it('uses the key only through S3, for the archive and the results bucket', () => {
    const key = statements().find((statement) => statement.Sid === 'DecryptTheArchive')!.Resource as string;
    const via = (bucket: string) => ({
      'kms:ViaService': ['s3.us-east-1.amazonaws.com'],
      'kms:EncryptionContext:aws:s3:arn': [`arn:aws:s3:::${bucket}`],
    });
    expect(can('kms:Decrypt', key, via(archiveId()))).toBe('Allowed');
    expect(can('kms:GenerateDataKey', key, via(resultsId()))).toBe('Allowed');
    expect(can('kms:GenerateDataKey', key, via(archiveId()))).toBe('ImplicitDeny');
    expect(can('kms:Decrypt', key)).toBe('ImplicitDeny');
  });
});
