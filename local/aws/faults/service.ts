/**
 * The control of the twin's fault injection, as an AWS JSON-protocol API on the twin's front
 * (`X-Amz-Target: CountersignTwinFaults.<Operation>`, signing name `countersign-twin`): SigV4-signed
 * by the operator's key and from this machine only, whatever the twin binds to. An agent's key, a
 * role session or a remote caller gets AccessDeniedException. Operations: `InjectFault` (a
 * FaultSpec, answers the armed fault), `ListFaults`, `ClearFaults` (all, or `{ "id" }`).
 */
import { AwsErrorCode, AwsProtocolError } from '../front/errors.ts';
import { jsonService } from '../front/json-service.ts';
import type { AwsServiceRequest, JsonAwsService } from '../front/service.ts';
import { isLoopback } from '../http.ts';
import { type FaultInjector, FaultSpec } from './injector.ts';

export const FAULTS_SIGNING_NAME = 'countersign-twin';
export const FAULTS_TARGET_PREFIX = 'CountersignTwinFaults';

function operatorOnLoopback(request: AwsServiceRequest<Buffer>): void {
  if (request.caller.kind !== 'operator' || !isLoopback(request.sourceIp)) {
    throw new AwsProtocolError(
      AwsErrorCode.accessDenied,
      `${request.caller.principalArn} may not control the twin's faults: only the operator's key, from this machine`,
    );
  }
}

export function faultsService(faults: FaultInjector): JsonAwsService {
  return jsonService({
    signingName: FAULTS_SIGNING_NAME,
    targetPrefix: FAULTS_TARGET_PREFIX,
    jsonVersion: '1.1',
    operations: {
      InjectFault: (input, request) => {
        operatorOnLoopback(request);
        const parsed = FaultSpec.safeParse(input);
        if (!parsed.success) {
          throw new AwsProtocolError(
            AwsErrorCode.validation,
            parsed.error.issues
              .map((issue) => `${issue.path.join('.') || 'fault'}: ${issue.message}`)
              .join('; '),
          );
        }
        return { Fault: faults.inject(parsed.data) };
      },
      ListFaults: (_input, request) => {
        operatorOnLoopback(request);
        return { Faults: faults.list() };
      },
      ClearFaults: (input, request) => {
        operatorOnLoopback(request);
        faults.clear(typeof input.id === 'string' ? input.id : undefined);
        return {};
      },
    },
  });
}
