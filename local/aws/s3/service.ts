/**
 * S3 on the twin's AWS front: a REST-XML service whose requests arrive with SigV4 verified, the
 * caller resolved and allowed, and the body still streaming; the engine (./index.ts) does the rest.
 */
import { type AwsCaller, AwsProtocol, type AwsRequestHead, type RestAwsService } from '../front/service.ts';
import type { LocalS3 } from './index.ts';
import { operationName } from './router.ts';

/** The twin has no TLS; a connection from this machine never crossed a network. */
function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export function s3Service(s3: LocalS3<AwsCaller>): RestAwsService<'rest-xml'> {
  return {
    protocol: AwsProtocol.restXml,
    signingName: 's3',
    operationOf: (head: AwsRequestHead) => operationName(head),
    handle: (request) =>
      s3.handle({
        method: request.method,
        path: request.path,
        rawQueryString: request.rawQueryString,
        headers: request.headers,
        body: request.body,
        caller: request.caller,
        signing: request.signature,
        requestId: request.requestId,
        secureTransport: isLoopback(request.sourceIp),
      }),
  };
}
