/**
 * WriteTxnMarkers: v1.
 * Behavior: a transaction coordinator (another broker of the cluster) asks this partition leader
 * to write commit or abort markers; each is appended like a produced batch and answered once
 * durable (in a cluster, NOT_LEADER_OR_FOLLOWER instead if the broker lost its lease or a new
 * leader fenced its WAL meanwhile, as Produce). A marker of a coordinator epoch already written
 * for the producer is answered NONE without writing it again. Partitions not led here get
 * NOT_LEADER_OR_FOLLOWER, unknown ones UNKNOWN_TOPIC_OR_PARTITION.
 * Version notes: v1 is flexible; v0 is not offered (only brokers send this, and ours send v1).
 * Authorization (as Kafka): ALTER on the cluster (asked quietly: kafka-transactions.sh abort
 * sends this too, KIP-664) or else CLUSTER_ACTION on the cluster; without either every partition
 * gets CLUSTER_AUTHORIZATION_FAILED. Our coordinators send it to the partition leaders through
 * the inter-broker listener (inter.broker.listener.name), logged in as its SASL user, or as
 * User:ANONYMOUS on a PLAINTEXT one: with an authorizer, that principal belongs in super.users
 * (README, Security, "Between brokers").
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeWriteTxnMarkersRequest, defaultWriteTxnMarkersResponse,
  defaultWriteTxnMarkersResponseWritableTxnMarkerPartitionResult as partitionOut,
  defaultWriteTxnMarkersResponseWritableTxnMarkerResult as markerOut,
  defaultWriteTxnMarkersResponseWritableTxnMarkerTopicResult as topicOut,
    encodeWriteTxnMarkersResponse,
} from '../../../protocol/generated/messages/write-txn-markers.js';
import { writeMarkerHere } from '../../txn/marker-writer.js';
import { defineHandler } from '../handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';
import { producerIdOf } from './txn-errors.js';

export const handler = defineHandler({
  apiKey: 27,
  name: 'WriteTxnMarkers',
  minVersion: 1,
  maxVersion: 1,
  decodeRequest: decodeWriteTxnMarkersRequest,
  encodeResponse: encodeWriteTxnMarkersResponse,
  async handle(ctx, req) {
    const s = ctx.services;
    const allowed = authorize(ctx, AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME, true)
      || authorize(ctx, AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME);
    const markers = await Promise.all(req.markers.map(async (m) => {
      const producerId = producerIdOf(m.producerId);
      const spec = { producerId, producerEpoch: m.producerEpoch,
        coordinatorEpoch: m.coordinatorEpoch,
        type: m.transactionResult ? 'commit' as const : 'abort' as const };
      const topics = await Promise.all(m.topics.map(async (t) => ({ ...topicOut(), name: t.name,
        partitions: await Promise.all(t.partitionIndexes.map(async (partitionIndex) => ({
          ...partitionOut(), partitionIndex, errorCode: !allowed
            ? ErrorCode.CLUSTER_AUTHORIZATION_FAILED : producerId < 0 || m.producerEpoch < 0
            ? ErrorCode.INVALID_REQUEST
            : await writeMarkerHere(s.partitions, s.cluster, spec, { topic: t.name,
              partition: partitionIndex }, s.nowMs()),
        }))) })));
      return { ...markerOut(), producerId: m.producerId, topics };
    }));
    return { ...defaultWriteTxnMarkersResponse(), markers };
  },
});
