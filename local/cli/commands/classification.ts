/**
 * `countersign classification show <s3-arn> [--as <user>] [--json] [--url <twin>]`: what Macie found
 * in an S3 bucket or object, as the REST API tells an auditor (GET /api/classifications): the
 * classification a request on it would carry now, the object's verdict, the bucket's aggregate and
 * policy findings, and every recorded change. Exit 0 when shown, 1 when the API refuses (not an
 * auditor, not an S3 ARN) or cannot be reached, 2 on bad usage.
 */
import { describeClassification } from '../../../lambdas/domain/classification.ts';
import type { ClassificationDetailBody } from '../../../lambdas/http/bodies.ts';
import {
  ExitCode,
  parseCommandLine,
  printJson,
  renderFields,
  renderTable,
  runCommand,
  UsageError,
} from '../output.ts';
import { READER_OPTIONS, readAs } from '../twin-client.ts';

const USAGE =
  'countersign classification show <s3-arn> [--as <user>] [--json] [--url <twin>]\n' +
  '  <s3-arn>  a bucket (arn:aws:s3:::bucket) or object (arn:aws:s3:::bucket/key) ARN\n' +
  '  --as      the auditor asking (default: COUNTERSIGN_USER, else the directory’s first user)';

function counts(typeCounts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(typeCounts);
  return entries.length === 0 ? '-' : entries.map(([type, count]) => `${type} ×${count}`).join(', ');
}

export function renderClassification(detail: ClassificationDetailBody): string {
  const { classification, object, bucket } = detail;
  const fields: [string, string][] = [
    ['Resource', detail.resource],
    ['Subject', detail.subject],
    ['Status', classification.status],
    ['Classification', describeClassification(classification)],
  ];
  if (classification.classifiedAt !== null) fields.push(['Classified at', classification.classifiedAt]);
  if (object !== undefined) {
    fields.push(['Object types', counts(object.typeCounts)]);
    fields.push(['Object findings', object.findingIds.length > 0 ? object.findingIds.join(', ') : '-']);
    if (object.jobId !== undefined) fields.push(['Macie job', object.jobId]);
    if (object.versionId !== undefined) fields.push(['Version', object.versionId]);
  }
  if (bucket !== undefined) {
    fields.push([
      'Bucket',
      `${bucket.severity ?? 'nothing sensitive'} across ${bucket.objects} classified object(s), ${bucket.sensitiveObjects} sensitive`,
    ]);
    fields.push(['Bucket types', counts(bucket.typeCounts)]);
  }
  const sections = [renderFields(fields)];
  if (detail.bucketFindings.length > 0) {
    sections.push(
      `Bucket policy findings\n${renderTable(detail.bucketFindings, [
        { header: 'TYPE', value: (finding) => finding.type },
        { header: 'SEVERITY', value: (finding) => finding.severity },
        { header: 'COUNT', value: (finding) => String(finding.count) },
        { header: 'UPDATED', value: (finding) => finding.updatedAt },
      ])}`,
    );
  }
  if (detail.history.length > 0) {
    sections.push(
      `History\n${renderTable(detail.history, [
        { header: 'AT', value: (record) => record.at },
        { header: 'SUBJECT', value: (record) => record.subject },
        { header: 'BY', value: (record) => record.actor },
        { header: 'SEVERITY', value: (record) => String(record.data.severity ?? '-') },
      ])}`,
    );
  }
  return sections.join('\n\n');
}

export async function run(args: string[]): Promise<number> {
  return runCommand('classification', USAGE, args, async () => {
    const { values, positionals } = parseCommandLine({
      args,
      allowPositionals: true,
      options: READER_OPTIONS,
    });
    const [subcommand, arn, ...extra] = positionals;
    if (subcommand !== 'show') throw new UsageError('the only subcommand is "show"');
    if (arn === undefined || extra.length > 0) throw new UsageError('exactly one <s3-arn> is required');
    if (!/^arn:aws[a-z-]*:s3:::[^/]+/.test(arn)) {
      throw new UsageError(`${arn} is not an S3 bucket or object ARN (arn:aws:s3:::bucket[/key])`);
    }
    const detail = (await readAs(values, `/api/classifications?resource=${encodeURIComponent(arn)}`))
      .body as ClassificationDetailBody;
    if (values.json) printJson(detail);
    else console.log(renderClassification(detail));
    return ExitCode.ok;
  });
}
