/**
 * Fetch: v4-17.
 * Behavior: reads each partition from its in-memory tail or, below it, from object storage; only
 * offsets below the high watermark (durable data) are visible. Long polling: with fewer than
 * minBytes available the request waits up to maxWaitMs, woken by appends. A fetch offset inside a
 * batch returns that whole batch (clients skip the records before their offset). A partition this
 * broker was just named leader of but has not opened yet (cluster mode: it waits out the old
 * leader's acknowledgement window and replays its WAL) is waited for, within maxWaitMs (at most
 * 5 s), rather than refused with NOT_LEADER_OR_FOLLOWER (broker/await-opening.ts).
 * READ_COMMITTED (isolation_level 1) reads only below the last stable offset (no open
 * transaction's data) and gets the aborted transactions overlapping what it was sent, from the
 * partition's in-memory index (partition/txn-index.ts): no record is decoded to answer it.
 * Incremental fetch sessions (KIP-227; fetch/fetch-context.ts): a full Fetch at epoch 0 opens
 * one (max.incremental.fetch.session.cache.slots of them, Kafka's eviction rules), and the
 * session's later Fetches name only the partitions whose position moved and get back only those
 * with records, a new high watermark or log start, or an error. Sessions are held in the
 * broker's memory: after a restart the client gets FETCH_SESSION_ID_NOT_FOUND and opens another.
 * Version notes: v13+ names topics by id. v12+ names the leader of a partition refused with
 * NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH, v16+ its address too (KIP-951). Sessions need
 * v7+ (v4-6 have no session fields); a session opened by topic ids is asked by ids only, one
 * opened by names by names only (else FETCH_SESSION_TOPIC_ID_ERROR).
 * Not implemented: follower fetching, preferred read replicas.
 */
import {
  type FetchRequest, decodeFetchRequest, defaultFetchResponse, encodeFetchResponse,
} from '../../../protocol/generated/messages/fetch.js';
import { nameFetchLeaders } from '../fetch/current-leader.js';
import { closeFetchContext, openFetchContext, withdrawAnswer } from '../fetch/fetch-context.js';
import { waitForAppend } from '../fetch/long-poll.js';
import { readPartitions, requestedPartitions } from '../fetch/read-partitions.js';
import { awaitOpening } from '../await-opening.js';
import { defineHandler } from '../handler.js';
import { fetchLimits } from '../../limits.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import { authorize, authorizedNames } from '../authorize.js';
import type { RequestContext } from '../handler.js';

/**
 * The topics this request may read, asked once (Kafka: READ on each topic; a fetch claiming a
 * replica id, as followers send, needs CLUSTER_ACTION on the cluster instead, and without it
 * every partition is TOPIC_AUTHORIZATION_FAILED).
 */
function readableTopics(ctx: RequestContext, req: FetchRequest, version: number): Set<string> {
  const replicaId = version >= 15 ? req.replicaState.replicaId : req.replicaId;
  if (replicaId >= 0) {
    return authorize(ctx, AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME)
      ? new Set(ctx.services.partitions.topics().map((t) => t.record.name)) : new Set();
  }
  const names = req.topics.map((t) => (version >= 13
    ? ctx.services.partitions.topicById(t.topicId)?.record.name : t.topic));
  return authorizedNames(ctx, AclOperation.READ, ResourceType.TOPIC,
    names.filter((n): n is string => n !== undefined));
}

export const handler = defineHandler({
  apiKey: 1,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 17,
  decodeRequest: decodeFetchRequest,
  encodeResponse: encodeFetchResponse,
  // Over its quota: no partitions, as Kafka's throttled FetchResponse (the client fetches the
  // same offsets again once the throttle is over). The session's update is taken back, so what
  // the withheld answer would have told (records, a moved high watermark or log start) is told
  // by the next one; a full Fetch's new session is dropped and the answer names none.
  throttledResponse: (_version, response) => ({ ...defaultFetchResponse(),
    sessionId: withdrawAnswer(response) }),
  async handle(ctx, sent, version) {
    const s = ctx.services;
    const context = openFetchContext(s.fetchSessions, sent, version, s.nowMs());
    if (context.kind === 'error') {
      return { ...defaultFetchResponse(), errorCode: context.errorCode };
    }
    // An incremental Fetch reads its whole session, in the session's order.
    const request = context.request;
    // Never more than the client's consumer_byte_rate lets through in one window (Kafka caps
    // fetch.max.bytes the same way), so a throttled consumer still makes progress.
    const quotaBytesMax = s.quotas.fetch.maxValueInWindow(ctx.principal.name, ctx.clientId ?? '');
    const req = quotaBytesMax >= request.maxBytes ? request
      : { ...request, maxBytes: Math.max(1, Math.floor(quotaBytesMax)) };
    const deadlineMs = s.nowMs() + Math.min(Math.max(req.maxWaitMs, 0), fetchLimits.fetchWaitMsMax);
    // Each pass holds its data in the broker's memory budget until the answer is built (the
    // connection then holds the answer's bytes until the kernel has them).
    const readable = readableTopics(ctx, req, version);
    // A partition this broker was just named leader of is read once it opens, within the wait.
    await awaitOpening(s, requestedPartitions(s, req, version, readable), deadlineMs - s.nowMs());
    let pass = await readPartitions(s, req, version, readable);
    try {
      while (pass.sizeBytes < req.minBytes && !pass.hasError) {
        const woken = await waitForAppend(pass.logs, deadlineMs - s.nowMs());
        if (!woken) break;
        const next = await readPartitions(s, req, version, readable);
        s.memory.releaseAnswer(pass.heldBytes);
        pass = next;
      }
      const res = defaultFetchResponse();
      res.responses = pass.topics;
      closeFetchContext(s.fetchSessions, context, res, version, s.nowMs());
      nameFetchLeaders(s, res, version, ctx.listenerName);
      return res;
    } finally {
      s.memory.releaseAnswer(pass.heldBytes);
    }
  },
});
