/**
 * Writes a transaction's markers (Kafka's TransactionMarkerChannelManager): one commit or abort
 * control batch into every partition of the transaction, each through the partition's leader: a
 * partition led here is appended to directly, one led by another broker gets a WriteTxnMarkers
 * request on that broker's inter-broker listener, with its security (TLS, a SASL login).
 * `writeAll` resolves once every marker is durable, retrying partitions whose leader moved or
 * could not be reached; a partition of a deleted topic is skipped, as Kafka does.
 *
 * A marker is written at most once per partition: it carries the coordinator epoch (the
 * transaction record's version when the decision was stored), and a leader that already wrote a
 * marker of that epoch for the producer answers without writing another (txn-index.ts), so a
 * coordinator that resends after a crash or a lost answer doubles nothing.
 */
import { ApiKey } from '../../protocol/generated/api-keys.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import {
  type WriteTxnMarkersResponse, decodeWriteTxnMarkersResponse, defaultWriteTxnMarkersRequest,
  defaultWriteTxnMarkersRequestWritableTxnMarker,
    defaultWriteTxnMarkersRequestWritableTxnMarkerTopic,
  encodeWriteTxnMarkersRequest,
} from '../../protocol/generated/messages/write-txn-markers.js';
import type { MarkerType } from '../../protocol/records/control-batch.js';
import type { ClusterView } from '../cluster/cluster-view.js';
import { type InterBrokerSecurity, PLAINTEXT_PEER,
  requestBroker } from '../cluster/broker-request.js';
import { endpointOn } from '../cluster/cluster-view.js';
import type { PartitionManager } from '../partition/partition-manager.js';
import { PartitionFencedError } from '../partition/partition-log.js';
import { transactionLimits } from '../limits.js';
import { crashPoint } from '../util/crash-points.js';

export interface MarkerSpec {
  producerId: number;
  producerEpoch: number;
  type: MarkerType;
  coordinatorEpoch: number;
}

export interface TopicPartitionName {
  topic: string;
  partition: number;
}

/** The client id markers are sent with (peers' logs name it). */
export const MARKER_CLIENT_ID = 'ledgerstream-txn';

/** WriteTxnMarkers v1 (flexible): every broker of this code answers it. */
const WRITE_TXN_MARKERS_VERSION = 1;

/**
 * Appends the marker to a partition led here and waits until it is durable; returns the error
 * code Kafka's WriteTxnMarkers answers for the partition. Used by the coordinator for local
 * partitions and by the WriteTxnMarkers handler.
 *
 * In a cluster a durable marker is confirmed only as Produce confirms a batch: if the broker lost
 * its lease meanwhile, or a new leader fenced its WAL (cluster/leased-view.ts), the new leader's
 * replay may not hold the marker, so the answer is NOT_LEADER_OR_FOLLOWER and the coordinator
 * writes it again through the new leader (which answers NONE without a second marker if the
 * replay did hold it: the coordinator epoch is remembered, see txn-index.ts).
 */
export async function writeMarkerHere(partitions: PartitionManager,
  cluster: Pick<ClusterView, 'acknowledgement'>, spec: MarkerSpec, tp: TopicPartitionName,
  nowMs: number): Promise<number> {
  // Taken before appending, as Produce does: it judges the marker by the session it was written in.
  const acknowledgement = cluster.acknowledgement?.();
  const topic = partitions.topic(tp.topic);
  const log = topic?.logs[tp.partition];
  if (topic === undefined || log === undefined) return partitions.missingError(tp.topic,
    tp.partition);
  const outcome = log.appendMarker(spec.producerId, spec.producerEpoch, spec.type,
    spec.coordinatorEpoch,
    topic.config, nowMs);
  if (outcome.kind === 'error') return ErrorCode[outcome.error];
  crashPoint('marker-before-durable');
  try {
    await outcome.durable;
  } catch (err) {
    return err instanceof PartitionFencedError ? ErrorCode.NOT_LEADER_OR_FOLLOWER
      : ErrorCode.KAFKA_STORAGE_ERROR;
  }
  if (acknowledgement !== undefined && !(await acknowledgement.mayAcknowledge())) {
    return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }
  return ErrorCode.NONE;
}

export class MarkerWriter {
  constructor(private readonly nodeId: number, private readonly cluster: ClusterView,
    private readonly partitions: PartitionManager, private readonly nowMs: () => number,
    private readonly log: { warn(fields: object, message: string): void },
    private readonly peers: InterBrokerSecurity = PLAINTEXT_PEER) {}

  /**
   * Writes the marker into every partition, retrying until each is durable or `stillWanted`
   * says to stop (this broker no longer coordinates the transaction: its successor finishes).
   * Returns whether every marker was written.
   */
  async writeAll(spec: MarkerSpec, targets: readonly TopicPartitionName[],
    stillWanted: () => boolean):
    Promise<boolean> {
    let pending = [...targets];
    while (pending.length > 0) {
      if (!stillWanted()) return false;
      const byLeader = new Map<number, TopicPartitionName[]>();
      for (const tp of pending) {
        const leaderId = this.leaderOf(tp);
        if (leaderId === null) continue; // topic deleted: nothing to mark
        byLeader.set(leaderId, [...(byLeader.get(leaderId) ?? []), tp]);
      }
      const results = await Promise.all([...byLeader].map(([leaderId,
        tps]) => this.writeVia(leaderId, spec, tps)));
      pending = results.flat();
      if (pending.length > 0) await new Promise((r) => setTimeout(r,
        transactionLimits.markerRetryMs));
    }
    return true;
  }

  /** The leader's node id (-1 when none is known), or null when the topic no longer exists. */
  private leaderOf(tp: TopicPartitionName): number | null {
    const topic = this.partitions.topic(tp.topic);
    if (topic === undefined || tp.partition >= topic.record.partitionCount) return null;
    if (topic.logs[tp.partition] !== undefined) return this.nodeId;
    return this.cluster.leader(topic.record.topicId, tp.partition, -1).leaderId;
  }

  /** Writes the marker into `tps` through their leader; returns those still to be written. */
  private async writeVia(leaderId: number, spec: MarkerSpec, tps: TopicPartitionName[]):
    Promise<TopicPartitionName[]> {
    if (leaderId === this.nodeId) {
      const codes = await Promise.all(tps.map((tp) => writeMarkerHere(this.partitions,
        this.cluster, spec, tp, this.nowMs())));
      return tps.filter((tp, i) => this.failed(tp, codes[i]!));
    }
    const leader = this.cluster.brokers().find((b) => b.nodeId === leaderId);
    if (leader === undefined) return tps;
    const { host, port } = endpointOn(leader, this.peers.listenerName);
    try {
      const res = await requestBroker(`${host}:${port}`, markersRequest(spec, tps), this.peers);
      const code = codesOf(res);
      if ([...code.values()].includes(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)) {
        this.log.warn({ leaderId, principal: this.peers.principal },
          `transaction markers refused: CLUSTER_AUTHORIZATION_FAILED; put ` +
          `${this.peers.principal} in superUsers or grant it ClusterAction on the cluster; ` +
          'retrying');
      }
      return tps.filter((tp) => this.failed(tp,
        code.get(`${tp.topic}\0${tp.partition}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR));
    } catch (err) {
      this.log.warn({ err, leaderId }, 'transaction markers not delivered; retrying');
      return tps;
    }
  }

  private failed(tp: TopicPartitionName, code: number): boolean {
    if (code === ErrorCode.NONE) return false;
    if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && this.leaderOf(tp) === null) return false;
    return true;
  }
}

function markersRequest(spec: MarkerSpec, tps: TopicPartitionName[]) {
  const topics = new Map<string, number[]>();
  for (const tp of tps) topics.set(tp.topic, [...(topics.get(tp.topic) ?? []), tp.partition]);
  const request = { ...defaultWriteTxnMarkersRequest(), markers: [{
    ...defaultWriteTxnMarkersRequestWritableTxnMarker(), producerId: BigInt(spec.producerId),
    producerEpoch: spec.producerEpoch, transactionResult: spec.type === 'commit',
    coordinatorEpoch: spec.coordinatorEpoch,
    topics: [...topics].map(([name, partitionIndexes]) => ({
      ...defaultWriteTxnMarkersRequestWritableTxnMarkerTopic(), name, partitionIndexes })),
  }] };
  return { apiKey: ApiKey.WriteTxnMarkers, version: WRITE_TXN_MARKERS_VERSION,
    clientId: MARKER_CLIENT_ID,
    name: 'WriteTxnMarkers', encode: (w: Parameters<typeof encodeWriteTxnMarkersRequest>[0]) =>
      encodeWriteTxnMarkersRequest(w, WRITE_TXN_MARKERS_VERSION, request),
    decode: (r: Parameters<typeof decodeWriteTxnMarkersResponse>[0]) =>
      decodeWriteTxnMarkersResponse(r, WRITE_TXN_MARKERS_VERSION),
    connectMsMax: transactionLimits.peerRequestMsMax,
      answerMsMax: transactionLimits.peerRequestMsMax,
    answerBytesMax: 16 * 1024 * 1024 };
}

function codesOf(res: WriteTxnMarkersResponse): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of res.markers) {
    for (const t of m.topics) {
      for (const p of t.partitions) out.set(`${t.name}\0${p.partitionIndex}`, p.errorCode);
    }
  }
  return out;
}
