/**
 * FindCoordinator: v0-5.
 * Behavior: a group key (key type 0) and a transactional id (key type 1) are answered with the
 * broker that coordinates them: the same rendezvous hash over the live brokers for both (a
 * single node: itself), so the transaction coordinator is placed as the group coordinator is.
 * Other key types get INVALID_REQUEST; no live broker, COORDINATOR_NOT_AVAILABLE.
 * Version notes: v0 has no key type (always a group); v3 is flexible; v4+ batch the keys and
 * answer each in `coordinators`; v5 only adds an error code transactions could return.
 * Not implemented: v6 (share groups, KIP-932).
 */
import { ApiKey } from '../../../protocol/generated/api-keys.js';
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeFindCoordinatorRequest, defaultFindCoordinatorResponse,
  defaultFindCoordinatorResponseCoordinator, encodeFindCoordinatorResponse,
} from '../../../protocol/generated/messages/find-coordinator.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { endpointOn } from '../../cluster/cluster-view.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';

const keyTypeGroup = 0;
const keyTypeTransaction = 1;

function coordinatorFor(ctx: RequestContext, keyType: number, key: string) {
  if (keyType !== keyTypeGroup && keyType !== keyTypeTransaction) {
    return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown key type ${keyType}`,
      nodeId: -1, host: '', port: -1 };
  }
  const [resourceType, deniedError] = keyType === keyTypeGroup
    ? [ResourceType.GROUP, ErrorCode.GROUP_AUTHORIZATION_FAILED]
    : [ResourceType.TRANSACTIONAL_ID, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED];
  if (!authorize(ctx, AclOperation.DESCRIBE, resourceType, key)) {
    return { errorCode: deniedError, errorMessage: null, nodeId: -1, host: '', port: -1 };
  }
  const coordinator = ctx.services.cluster.groupCoordinator(key);
  if (coordinator === null) {
    return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'no live broker',
      nodeId: -1, host: '', port: -1 };
  }
  const { host, port } = endpointOn(coordinator, ctx.listenerName);
  const { nodeId } = coordinator;
  return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId, host, port };
}

export const handler = defineHandler({
  apiKey: ApiKey.FindCoordinator,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeFindCoordinatorRequest,
  encodeResponse: encodeFindCoordinatorResponse,
  handle(ctx, req, version) {
    if (version < 4) {
      return { ...defaultFindCoordinatorResponse(), ...coordinatorFor(ctx, req.keyType, req.key) };
    }
    const coordinators = req.coordinatorKeys.map((key) => ({
      ...defaultFindCoordinatorResponseCoordinator(), key, ...coordinatorFor(ctx, req.keyType, key) }));
    return { ...defaultFindCoordinatorResponse(), coordinators };
  },
});
