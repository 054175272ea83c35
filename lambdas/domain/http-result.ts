/**
 * An HTTP answer as a handler gives it to API Gateway (payload format 2.0): the one shape the REST
 * API, the Slack and the Teams handlers return.
 */
export interface HttpResult {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string;
}
