/**
 * OffsetFetch: v0-9.
 * Behavior: the group's committed offsets for the listed partitions (uncommitted ones get
 * offset -1, metadata "", no error), or for every partition it committed when topics is null.
 * Works for any group id, known or not, as Kafka does.
 * Version notes: v0-1 have no top-level error (a group error goes on every partition); v2+ may
 * ask for all topics (null) and have a top-level error; v5+ return the leader epoch; v7+
 * requireStable: a partition with offsets committed in a transaction not yet ended gets
 * UNSTABLE_OFFSET_COMMIT (retriable; the consumer retries until the transaction ends) instead of
 * its offset; v8+ ask for several groups at once; v9's member id and epoch belong to KIP-848
 * groups and are ignored.
 */
import { ApiKey } from '../../../protocol/generated/api-keys.js';
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeOffsetFetchRequest, defaultOffsetFetchResponse,
  defaultOffsetFetchResponseOffsetFetchResponseGroup as defaultGroup,
  defaultOffsetFetchResponseOffsetFetchResponsePartition as defaultPartition,
  defaultOffsetFetchResponseOffsetFetchResponseTopic as defaultTopic, encodeOffsetFetchResponse,
} from '../../../protocol/generated/messages/offset-fetch.js';
import type { FetchOffsetsResult, FetchedOffset } from '../../group/group-coordinator.js';
import { type RequestContext, defineHandler } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize, authorizedNames } from '../authorize.js';
import type { CommittedOffset } from '../../metadata/records.js';

type Wanted = { name: string; partitionIndexes: number[] }[] | null;

const toDomain = (topics: Wanted) => topics === null ? null
  : topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes }));

const toWire = (p: FetchedOffset) => ({
  ...defaultPartition(), partitionIndex: p.partition, committedOffset: BigInt(p.offset),
  committedLeaderEpoch: p.leaderEpoch, metadata: p.metadata, errorCode: p.errorCode });

function topicsOf(result: FetchOffsetsResult, wanted: Wanted, partitionError: boolean) {
  // Before v2 a group-level error can only be told per partition.
  if (partitionError && result.errorCode !== ErrorCode.NONE && wanted !== null) {
    return wanted.map((t) => ({ ...defaultTopic(), name: t.name,
      partitions: t.partitionIndexes.map((partition) => toWire({ partition, offset: -1,
        leaderEpoch: -1, metadata: '', errorCode: result.errorCode })) }));
  }
  return result.topics.map((t) => ({ ...defaultTopic(), name: t.topic,
    partitions: t.partitions.map(toWire) }));
}

/**
 * The group's offsets as the requester may see them (Kafka): DESCRIBE on the group, else
 * GROUP_AUTHORIZATION_FAILED; a named topic without DESCRIBE is TOPIC_AUTHORIZATION_FAILED on each
 * partition; asked for all, topics without DESCRIBE are left out.
 */
async function fetchAuthorized(ctx: RequestContext, groupId: string, wanted: Wanted):
  Promise<FetchOffsetsResult> {
  if (!authorize(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  }
  const result = await ctx.services.groups.fetchOffsets(groupId, toDomain(wanted));
  const quiet = wanted === null;
  const names = authorizedNames(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC,
    result.topics.map((t) => t.topic), quiet);
  const topics = quiet ? result.topics.filter((t) => names.has(t.topic))
    : result.topics.map((t) => (names.has(t.topic) ? t : { topic: t.topic,
      partitions: t.partitions.map((p) => ({ partition: p.partition, offset: -1, leaderEpoch: -1,
        metadata: '', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })) }));
  return { ...result, topics };
}

/** requireStable: partitions with offsets pending in a transaction: UNSTABLE_OFFSET_COMMIT. */
function unstable(result: FetchOffsetsResult,
  pending: CommittedOffset[] | undefined): FetchOffsetsResult {
  if (pending === undefined || pending.length === 0) return result;
  const keys = new Set(pending.map((o) => `${o.topic}\0${o.partition}`));
  return { ...result, topics: result.topics.map((t) => ({ topic: t.topic,
    partitions: t.partitions.map((p) =>
    keys.has(`${t.topic}\0${p.partition}`) ? { ...p, offset: -1,
      errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT } : p) })) };
}

export const handler = defineHandler({
  apiKey: ApiKey.OffsetFetch,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 9,
  decodeRequest: decodeOffsetFetchRequest,
  encodeResponse: encodeOffsetFetchResponse,
  async handle(ctx, req, version) {
    const pending = version >= 7 && req.requireStable
      ? await ctx.services.transactions.pendingOffsetGroups() : null;
    const fetchStable = async (groupId: string, topics: Wanted) =>
      unstable(await fetchAuthorized(ctx, groupId, topics), pending?.get(groupId));
    if (version >= 8) {
      const out = [];
      for (const g of req.groups) {
        const result = await fetchStable(g.groupId, g.topics);
        out.push({ ...defaultGroup(), groupId: g.groupId, errorCode: result.errorCode,
          topics: topicsOf(result, g.topics, false) });
      }
      return { ...defaultOffsetFetchResponse(), groups: out };
    }
    const result = await fetchStable(req.groupId, req.topics);
    return { ...defaultOffsetFetchResponse(), topics: topicsOf(result, req.topics, version < 2),
      errorCode: version >= 2 ? result.errorCode : ErrorCode.NONE };
  },
});
