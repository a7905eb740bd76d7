/**
 * WriteTxnMarkers: v1.
 * Behavior: a transaction coordinator (another broker of the cluster) asks this partition leader
 * to write commit or abort markers; each is appended like a produced batch and answered once
 * durable. A marker of a coordinator epoch already written for the producer is answered NONE
 * without writing it again. Partitions not led here get NOT_LEADER_OR_FOLLOWER, unknown ones
 * UNKNOWN_TOPIC_OR_PARTITION.
 * Version notes: v1 is flexible; v0 is not offered (only brokers send this, and ours send v1).
 * Not implemented: authorization — only brokers may send it (ClusterAction on the Cluster
 * resource); until the security work lands any client can, so it is not a trust boundary yet.
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
    const markers = await Promise.all(req.markers.map(async (m) => {
      const producerId = producerIdOf(m.producerId);
      const spec = { producerId, producerEpoch: m.producerEpoch,
        coordinatorEpoch: m.coordinatorEpoch,
        type: m.transactionResult ? 'commit' as const : 'abort' as const };
      const topics = await Promise.all(m.topics.map(async (t) => ({ ...topicOut(), name: t.name,
        partitions: await Promise.all(t.partitionIndexes.map(async (partitionIndex) => ({
          ...partitionOut(), partitionIndex, errorCode: producerId < 0 || m.producerEpoch < 0
            ? ErrorCode.INVALID_REQUEST
            : await writeMarkerHere(s.partitions, spec, { topic: t.name,
              partition: partitionIndex }, s.nowMs()),
        }))) })));
      return { ...markerOut(), producerId: m.producerId, topics };
    }));
    return { ...defaultWriteTxnMarkersResponse(), markers };
  },
});
