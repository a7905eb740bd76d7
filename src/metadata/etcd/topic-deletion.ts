/**
 * Deleting a topic on etcd: topic, id reservation, partition states, index entries, producer
 * lists and committed offsets in ONE transaction, releasing the entries' objects. A topic too
 * large for one transaction is first emptied through retention (each step its own transaction,
 * each leaving a valid state) and its offsets dropped in chunks, then deleted in one.
 */
import { prefixEnd } from '../../etcd/keys.js';
import {
  deleteOp, deletePrefixOp, getOp, keyOf, modEquals, rangePrefix, rangesOf, revisionOf,
  unchangedSince, versionedOf, type Versioned,
} from '../../etcd/txn.js';
import { UnknownTopicError, type PartitionState, type SegmentEntry, type TopicRecord } from
  '../records.js';
import type { SegmentIndex } from '../stores.js';
import { decodePartitionState, decodeSegment, decodeTopic, type ObjectRecord } from './codecs.js';
import { EtcdConflictError, type EtcdEngine, type TxnPlan } from './engine.js';
import { etcdCoordinatorLimits } from '../../limits.js';


interface TopicDeletionView {
  topic: TopicRecord;
  topicModRevision: number;
  revision: number;
  partitions: PartitionState[];
  entryCount: number;
  /** Empty when entryCount is above deleteTopicEntriesReadMax: the topic is trimmed first. */
  entries: SegmentEntry[];
  objects: Map<string, Versioned<ObjectRecord>>;
  offsetKeys: string[];
}

export async function deleteTopic(e: EtcdEngine, segments: SegmentIndex, name: string):
  Promise<string[]> {
  const deadObjectKeys: string[] = [];
  for (let round = 1; ; round++) {
    const view = await readTopicDeletionView(e, name);
    const opsNeeded = etcdCoordinatorLimits.deleteTopicOpsFixed + view.objects.size + view.offsetKeys.length;
    const tooLarge = view.entryCount > etcdCoordinatorLimits.deleteTopicEntriesReadMax;
    if (tooLarge || opsNeeded > e.txnOpsMax) { // the success branch is the largest
      if (round >= etcdCoordinatorLimits.deleteTopicRoundsMax) {
        throw new EtcdConflictError(`deleteTopic ${name} (trimming; writers keep adding)`, round);
      }
      deadObjectKeys.push(...await trimTopicForDeletion(e, segments, view));
      continue;
    }
    const plan = planTopicDeletion(e, view);
    const response = await e.txn(plan.compare, plan.success, []);
    if (response.succeeded) {
      e.applyOwnWrites(plan.success, revisionOf(response.header));
      return [...deadObjectKeys, ...plan.result].sort();
    }
    if (round >= etcdCoordinatorLimits.txnAttemptsMax) throw new EtcdConflictError('deleteTopic', round);
    await e.backoffAfterConflict(round);
  }
}

/** Everything deleting the topic touches, read at one revision where it pages. */
async function readTopicDeletionView(e: EtcdEngine, name: string): Promise<TopicDeletionView> {
  const { keys, client } = e;
  const response = await e.txn([], [getOp(keys.topic(name))], []);
  const { value: topic, modRevision: topicModRevision } =
    versionedOf(rangesOf(response)[0], decodeTopic);
  if (topic === null) throw new UnknownTopicError(`unknown topic ${name}`);
  const revision = revisionOf(response.header);
  const at = { revision };
  const partitions = (await rangePrefix(client, keys.partitionsOfTopic(topic.topicId), at))
    .map((kv) => decodePartitionState(kv.value));
  const segmentsPrefix = keys.segmentsOfTopic(topic.topicId);
  const entryCount = Number((await client.kv.range({ key: Buffer.from(segmentsPrefix),
    range_end: prefixEnd(segmentsPrefix), count_only: true, revision })).count);
  const entries = entryCount > etcdCoordinatorLimits.deleteTopicEntriesReadMax ? []
    : (await rangePrefix(client, segmentsPrefix, at)).map((kv) => decodeSegment(keyOf(kv),
      kv.value));
  const objects = await e.readObjects(new Set(entries.map((entry) => entry.objectKey)));
  // Offsets are keyed by group first, so the topic's are found by scanning every group's.
  const topicSegment = `/${encodeURIComponent(name)}/`;
  const offsetKeys = (await rangePrefix(client, keys.offsetsPrefix(), { ...at, keysOnly: true }))
    .map(keyOf).filter((key) => key.slice(keys.offsetsPrefix().length).replace(/^[^/]*/, '')
      .startsWith(topicSegment));
  return { topic, topicModRevision, revision, partitions, entryCount, entries, objects,
    offsetKeys };
}

/**
 * Compares: the topic key (createPartitions, configs, a delete and re-create all move it), no
 * partition state changed since the read (commits and retention move them, and with them the
 * entries), and every object whose count drops. Offset keys of the topic committed after the
 * read are not guarded: such a commit for a topic being deleted survives it, as an offset commit
 * racing a topic deletion can in Kafka.
 */
function planTopicDeletion(e: EtcdEngine, view: TopicDeletionView): TxnPlan<string[]> {
  const { topic } = view;
  const { keys } = e;
  const compare = [modEquals(keys.topic(topic.name), view.topicModRevision),
    unchangedSince(keys.partitionsOfTopic(topic.topicId), view.revision)];
  for (const [objectKey, record] of view.objects) {
    compare.push(modEquals(keys.object(objectKey), record.modRevision));
  }
  const released = e.objectReleaseOps(view.entries, view.objects);
  const success = [deleteOp(keys.topic(topic.name)), deleteOp(keys.topicId(topic.topicId)),
    deletePrefixOp(keys.partitionsOfTopic(topic.topicId)),
    deletePrefixOp(keys.segmentsOfTopic(topic.topicId)),
    deletePrefixOp(keys.producersOfTopic(topic.topicId)),
    ...released.ops, ...view.offsetKeys.map(deleteOp)];
  return { compare, success, result: released.deadObjectKeys };
}

/** Empties every partition through retention and drops the topic's offsets in chunks. */
async function trimTopicForDeletion(e: EtcdEngine, segments: SegmentIndex,
  view: TopicDeletionView): Promise<string[]> {
  const deadObjectKeys: string[] = [];
  for (const state of view.partitions) {
    const offset = Math.max(state.indexedEndOffset, state.logStartOffset);
    deadObjectKeys.push(...await segments.advanceLogStart(state.topicId, state.partition, offset));
  }
  await e.writeChunked(view.offsetKeys.map(deleteOp));
  return deadObjectKeys;
}
