/**
 * Amazon Macie's API on the twin (REST-JSON, signing name `macie2`), the operations Countersign's
 * Macie adapter calls: CreateClassificationJob (`POST /jobs`), DescribeClassificationJob
 * (`GET /jobs/{jobId}`), ListFindings (`POST /findings`) and GetFindings (`POST /findings/describe`).
 * The front has checked the signature and the caller's `macie2:<Operation>`; the service claims no
 * unsigned paths (an unsigned `/jobs` is not a Macie call).
 */
import * as z from 'zod';
import { AwsErrorCode, AwsProtocolError } from '../front/errors.ts';
import { AwsProtocol, type AwsRequestHead, type RestAwsService } from '../front/service.ts';
import { jsonResponse } from '../http.ts';
import type { LocalMacie } from './jobs.ts';

/** ListFindings answers at most 50 ids a page, as Macie does. */
const MAX_RESULTS = 50;
const JOB_PATH = /^\/jobs\/([^/]+)$/;

const ListFindingsInput = z.looseObject({
  findingCriteria: z
    .looseObject({
      criterion: z.record(z.string(), z.looseObject({ eq: z.array(z.string()).optional() })).optional(),
    })
    .optional(),
  maxResults: z.number().int().min(1).max(MAX_RESULTS).optional(),
  nextToken: z.string().optional(),
});
const GetFindingsInput = z.looseObject({ findingIds: z.array(z.string()).min(1).max(50) });

function operationOf(head: AwsRequestHead): string {
  if (head.method === 'POST' && head.path === '/jobs') return 'CreateClassificationJob';
  if (head.method === 'GET' && JOB_PATH.test(head.path)) return 'DescribeClassificationJob';
  if (head.method === 'POST' && head.path === '/findings') return 'ListFindings';
  if (head.method === 'POST' && head.path === '/findings/describe') return 'GetFindings';
  return 'Unknown';
}

function bodyOf(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new AwsProtocolError(AwsErrorCode.validation, 'The request body is not JSON.', 400, {
      cause: error,
    });
  }
}

function parsed<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new AwsProtocolError(AwsErrorCode.validation, issues.join('; '), 400);
  }
  return result.data;
}

function pageStart(nextToken: string | undefined): number {
  if (nextToken === undefined || nextToken === '') return 0;
  const start = Number(Buffer.from(nextToken, 'base64url').toString('utf8'));
  if (!Number.isInteger(start) || start < 0)
    throw new AwsProtocolError(AwsErrorCode.validation, 'Invalid nextToken.', 400);
  return start;
}

export function macieService(macie: LocalMacie): RestAwsService<'rest-json'> {
  return {
    protocol: AwsProtocol.restJson,
    signingName: 'macie2',
    operationOf,
    async handle(request) {
      switch (operationOf(request)) {
        case 'CreateClassificationJob':
          return jsonResponse(200, macie.createJob(bodyOf(request.body)));
        case 'DescribeClassificationJob':
          return jsonResponse(200, macie.describeJob(decodeURIComponent(JOB_PATH.exec(request.path)![1]!)));
        case 'ListFindings': {
          const input = parsed(ListFindingsInput, bodyOf(request.body));
          const ids = macie.listFindings(input.findingCriteria?.criterion ?? {});
          const start = pageStart(input.nextToken);
          const end = start + (input.maxResults ?? MAX_RESULTS);
          return jsonResponse(200, {
            findingIds: ids.slice(start, end),
            ...(end < ids.length ? { nextToken: Buffer.from(String(end)).toString('base64url') } : {}),
          });
        }
        case 'GetFindings':
          return jsonResponse(200, {
            findings: macie.getFindings(parsed(GetFindingsInput, bodyOf(request.body)).findingIds),
          });
        default:
          throw new AwsProtocolError(
            AwsErrorCode.unknownOperation,
            `The twin does not serve Macie's ${request.method} ${request.path}`,
            404,
          );
      }
    },
  };
}
