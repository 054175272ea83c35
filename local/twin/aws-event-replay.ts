/**
 * `POST /local/aws-events`: replays an AWS service's event as recorded (a CloudTrail `AWS API Call
 * via CloudTrail` event, say) onto the twin's default bus, where AWS delivers such events and
 * where PutEvents may not put them (`aws.` sources are AWS's own). The event is delivered as
 * given, its id and time included, so a replay is the same event again: what at-least-once
 * delivery does. The twin only listens on loopback; a JSON content type is required, so a web
 * page cannot post one without the browser asking first.
 */
import * as z from 'zod';
import { describeIssues } from '../../lambdas/domain/schemas.ts';
import type { LocalRoute } from '../aws/apigateway/http-api.ts';
import type { BusEvent } from '../aws/events/event-bus.ts';
import { jsonResponse } from '../aws/http.ts';

export const AWS_EVENT_REPLAY_PATH = '/local/aws-events';

/** An EventBridge event from an AWS service, as a rule's target receives it. */
export const RecordedAwsEvent = z.object({
  version: z.literal('0'),
  id: z.string().min(1).max(128),
  'detail-type': z.string().min(1).max(128),
  source: z.string().regex(/^aws\.[a-z0-9.-]+$/, 'must be an AWS service source such as aws.s3'),
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id'),
  time: z.iso.datetime({ offset: true }),
  region: z.string().min(1),
  resources: z.array(z.string()),
  detail: z.record(z.string(), z.unknown()),
});

export function awsEventReplayRoute(deliver: (event: BusEvent) => void): LocalRoute {
  return {
    method: 'POST',
    path: AWS_EVENT_REPLAY_PATH,
    handle: async (request) => {
      if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
        return jsonResponse(415, {
          error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send application/json' },
        });
      }
      let body: unknown;
      try {
        body = JSON.parse(request.body.toString('utf8'));
      } catch {
        return jsonResponse(400, { error: { code: 'VALIDATION_FAILED', message: 'the body is not JSON' } });
      }
      const parsed = RecordedAwsEvent.safeParse(body);
      if (!parsed.success) {
        return jsonResponse(400, {
          error: {
            code: 'VALIDATION_FAILED',
            message: `not an AWS service event: ${describeIssues(parsed.error).join('; ')}`,
          },
        });
      }
      deliver(parsed.data as BusEvent);
      return jsonResponse(202, { id: parsed.data.id });
    },
  };
}
