/**
 * DescribeCluster: v0-1.
 * Behavior: the cluster id and this broker (node id, advertised host and port), which is also the
 * controller. Authorized operations, when asked for, are all cluster operations (no authorizer:
 * what Kafka answers without one).
 * Version notes: v1 names an endpoint type; we are brokers (1): controllers (2) →
 * MISMATCHED_ENDPOINT_TYPE, any other → UNSUPPORTED_ENDPOINT_TYPE, as Kafka's broker answers.
 * Not implemented: racks (null).
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeDescribeClusterRequest, defaultDescribeClusterResponse,
  defaultDescribeClusterResponseDescribeClusterBroker, encodeDescribeClusterResponse,
} from '../../../protocol/generated/messages/describe-cluster.js';
import { defineHandler, topLevelError } from '../handler.js';
import { endpointOn } from '../../cluster/cluster-view.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import { authorize, authorizedOperations } from '../authorize.js';

const [ENDPOINT_BROKERS, ENDPOINT_CONTROLLERS] = [1, 2];

export const handler = defineHandler({
  apiKey: 60,
  name: 'DescribeCluster',
  minVersion: 0,
  maxVersion: 1,
  decodeRequest: decodeDescribeClusterRequest,
  encodeResponse: encodeDescribeClusterResponse,
  errorResponse: topLevelError(defaultDescribeClusterResponse),
  handle(ctx, req) {
    const s = ctx.services;
    const res = defaultDescribeClusterResponse();
    // endpointType decodes as 1 (brokers) below v1, where the response may carry only 1.
    if (req.endpointType !== ENDPOINT_BROKERS) {
      return { ...res, errorMessage: `Unsupported endpoint type ${req.endpointType}`,
        errorCode: req.endpointType === ENDPOINT_CONTROLLERS ? ErrorCode.MISMATCHED_ENDPOINT_TYPE
          : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE };
    }
    const brokers = s.cluster.brokers().map((b) => ({ ...defaultDescribeClusterResponseDescribeClusterBroker(),
      brokerId: b.nodeId, ...endpointOn(b, ctx.listenerName), rack: b.rack }));
    return { ...res, clusterId: s.clusterId, controllerId: s.cluster.controllerId(), brokers,
      clusterAuthorizedOperations: !req.includeClusterAuthorizedOperations
        ? res.clusterAuthorizedOperations
        : authorize(ctx, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)
          ? authorizedOperations(ctx, ResourceType.CLUSTER, CLUSTER_NAME) : 0 };
  },
});
