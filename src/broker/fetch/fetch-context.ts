/**
 * How one Fetch uses the session cache (fetch-sessions.ts), as Kafka's FetchManager.newContext
 * and its contexts. Going by the request's session id and epoch (v7+):
 *   - epoch -1 (FINAL): a full Fetch without a session; a session id given is closed first.
 *   - epoch 0 (INITIAL): a full Fetch that opens a session (a session id given is closed first);
 *     the answer names it, or 0 when the cache has no room.
 *   - epoch > 0: the next Fetch of that session. The partitions it names are added or updated,
 *     the forgotten ones dropped, and the whole session is read in its order; the answer carries
 *     only partitions with something new. An unknown id is FETCH_SESSION_ID_NOT_FOUND, a wrong
 *     epoch INVALID_FETCH_SESSION_EPOCH, a session of topic ids asked by name (or the reverse)
 *     FETCH_SESSION_TOPIC_ID_ERROR: each with no partitions, and the client starts over.
 *
 * The ordered read (read-partitions.ts) answers every partition of the request it is given in
 * the same order and grouping, which is how answers are matched back to session partitions.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type FetchRequest, type FetchRequestFetchTopic, type FetchResponse,
  type FetchResponsePartitionData, defaultFetchRequestFetchTopic,
} from '../../../protocol/generated/messages/fetch.js';
import type { FetchSession, FetchSessionCache, SessionPartition } from './fetch-sessions.js';

/** The session fields exist from v7; older requests are always sessionless. */
const SESSIONS_VERSION_MIN = 7;
/** Topic ids replace names from v13. */
const TOPIC_IDS_VERSION_MIN = 13;
const INITIAL_EPOCH = 0;
const FINAL_EPOCH = -1;
const NO_SESSION = 0;

export type FetchContext =
  | { kind: 'sessionless'; request: FetchRequest }
  /** `createdIn`: the cache that holds the session its answer opened, once it did. */
  | { kind: 'full'; request: FetchRequest; createdIn?: FetchSessionCache }
  /** `request` is the whole session in its order; `order` its partitions in that order. */
  | { kind: 'incremental'; request: FetchRequest; session: FetchSession; order: SessionPartition[] }
  | { kind: 'error'; errorCode: number };

/** Where an answer keeps the context it was closed with: on itself, so a Fetch allocates nothing
 *  more to have its session update taken back. */
const CONTEXT = Symbol('fetch context');
type AnswerWithContext = FetchResponse & { [CONTEXT]?: FetchContext };

export function openFetchContext(cache: FetchSessionCache, req: FetchRequest, version: number,
  nowMs: number): FetchContext {
  if (version < SESSIONS_VERSION_MIN) return { kind: 'sessionless', request: req };
  if (req.sessionEpoch === INITIAL_EPOCH || req.sessionEpoch === FINAL_EPOCH) {
    if (req.sessionId !== NO_SESSION) cache.remove(req.sessionId);
    return { kind: req.sessionEpoch === INITIAL_EPOCH ? 'full' : 'sessionless', request: req };
  }
  const session = cache.get(req.sessionId);
  if (session === undefined) {
    return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
  }
  if (session.epoch !== req.sessionEpoch) {
    return { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
  }
  if (session.usesTopicIds !== (version >= TOPIC_IDS_VERSION_MIN)) {
    return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR };
  }
  const sizeBefore = session.size;
  applyChanges(session, req);
  if (!cache.touch(session, nowMs, sizeBefore)) {
    // Grown past what the cache may hold: dropped, so the client's full Fetch starts over (and
    // runs without a session if it is still too large for one).
    cache.remove(session.id);
    return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
  }
  session.advanceEpoch();
  const order = [...session.partitions()];
  const request = { ...req, topics: topicsOf(order), forgottenTopicsData: [] };
  return { kind: 'incremental', request, session, order };
}

/**
 * Finishes the answer: sets its session id, opens the session of a full Fetch at epoch 0, and
 * for an incremental one keeps only the partitions with news (updating what the session last
 * told the client, and moving the partitions answered with records to the end of the session's
 * order). The answer remembers its context, for withdrawAnswer.
 */
export function closeFetchContext(cache: FetchSessionCache, context: FetchContext,
  res: FetchResponse, version: number, nowMs: number): void {
  (res as AnswerWithContext)[CONTEXT] = context;
  switch (context.kind) {
    case 'sessionless':
      res.sessionId = NO_SESSION;
      return;
    case 'full': {
      const usesTopicIds = version >= TOPIC_IDS_VERSION_MIN;
      const partitions = pairs(context.request, res).map(([t, p, answer]) => {
        const cached = newSessionPartition(usesTopicIds, t, p);
        noteAnswer(cached, answer);
        return cached;
      });
      const session = cache.create(nowMs, usesTopicIds, partitions);
      if (session !== null) context.createdIn = cache;
      res.sessionId = session?.id ?? NO_SESSION;
      return;
    }
    case 'incremental':
      res.sessionId = context.session.id;
      res.responses = newsOnly(context, res);
      return;
    case 'error':
      assert.fail('an error context has no answer to close');
  }
}

/**
 * Takes back what closeFetchContext did to the sessions for `res`, an answer that is not sent (a
 * Fetch over its quota gets an empty one instead: Kafka updates a session only with an answer it
 * sends), and returns the session id the empty answer carries: none for a full Fetch, whose new
 * session is dropped again (Kafka makes none; one evicted to make room for it stays evicted, a
 * difference only when the cache is full), the session's own for an incremental one, whose
 * partitions are as before this Fetch told the client anything (the partitions it added or
 * forgot and its epoch stay moved, as on Kafka).
 */
export function withdrawAnswer(res: FetchResponse): number {
  const context = (res as AnswerWithContext)[CONTEXT];
  switch (context?.kind) {
    case 'full':
      if (context.createdIn !== undefined) context.createdIn.remove(res.sessionId);
      return NO_SESSION;
    case 'incremental':
      for (const p of context.order) {
        p.highWatermark = p.highWatermarkBefore;
        p.localLogStartOffset = p.localLogStartOffsetBefore;
      }
      context.session.restoreOrder(context.order);
      return context.session.id;
    default:
      return res.sessionId;
  }
}

/** Adds or updates the partitions the request names, then drops the forgotten ones (Kafka's
 *  order). A partition added gets high watermark -1, so its first answer includes it. */
function applyChanges(session: FetchSession, req: FetchRequest): void {
  for (const t of req.topics) {
    for (const p of t.partitions) {
      const cached = session.find(t.topicId, t.topic, p.partition);
      if (cached === undefined) {
        session.add(newSessionPartition(session.usesTopicIds, t, p));
      } else {
        cached.fetchOffset = p.fetchOffset;
        cached.partitionMaxBytes = p.partitionMaxBytes;
        cached.currentLeaderEpoch = p.currentLeaderEpoch;
        cached.lastFetchedEpoch = p.lastFetchedEpoch;
        cached.logStartOffset = p.logStartOffset;
      }
    }
  }
  for (const f of req.forgottenTopicsData) {
    for (const partition of f.partitions) session.remove(f.topicId, f.topic, partition);
  }
}

function newSessionPartition(usesTopicIds: boolean, t: FetchRequestFetchTopic,
  p: RequestPartition): SessionPartition {
  return { ...p, topicId: usesTopicIds ? t.topicId : '', topic: usesTopicIds ? '' : t.topic,
    highWatermark: -1n, localLogStartOffset: -1n, highWatermarkBefore: -1n,
    localLogStartOffsetBefore: -1n };
}

/** The session's partitions as request topics, a new topic entry wherever the topic changes. */
function topicsOf(order: SessionPartition[]): FetchRequestFetchTopic[] {
  const topics: FetchRequestFetchTopic[] = [];
  let current: FetchRequestFetchTopic | null = null;
  for (const p of order) {
    if (current === null || current.topicId !== p.topicId || current.topic !== p.topic) {
      current = { ...defaultFetchRequestFetchTopic(), topic: p.topic, topicId: p.topicId,
        partitions: [] };
      topics.push(current);
    }
    current.partitions.push(p);
  }
  return topics;
}

type RequestPartition = FetchRequestFetchTopic['partitions'][number];

/** Each request partition with its answer: the read answers them one for one, in order. */
function pairs(req: FetchRequest, res: FetchResponse):
  [FetchRequestFetchTopic, RequestPartition, FetchResponsePartitionData][] {
  assert.equal(res.responses.length, req.topics.length, 'one answer topic per request topic');
  return req.topics.flatMap((t, i) => {
    const answers = res.responses[i]!.partitions;
    assert.equal(answers.length, t.partitions.length, 'one answer per request partition');
    return t.partitions.map((p, j) => [t, p, answers[j]!] as
      [FetchRequestFetchTopic, RequestPartition, FetchResponsePartitionData]);
  });
}

/**
 * Kafka's CachedPartition.maybeUpdateResponseData: a partition is answered when it has records,
 * an error, or a high watermark or log start the client was not told yet. An error sets the
 * remembered high watermark to -1, so the partition is answered again once the error is gone.
 */
function noteAnswer(cached: SessionPartition, answer: FetchResponsePartitionData): boolean {
  cached.highWatermarkBefore = cached.highWatermark;
  cached.localLogStartOffsetBefore = cached.localLogStartOffset;
  let news = (answer.records?.length ?? 0) > 0;
  if (cached.highWatermark !== answer.highWatermark) {
    cached.highWatermark = answer.highWatermark;
    news = true;
  }
  if (cached.localLogStartOffset !== answer.logStartOffset) {
    cached.localLogStartOffset = answer.logStartOffset;
    news = true;
  }
  if (answer.errorCode !== ErrorCode.NONE) {
    cached.highWatermark = -1n;
    news = true;
  }
  return news;
}

function newsOnly(context: Extract<FetchContext, { kind: 'incremental' }>, res: FetchResponse):
  FetchResponse['responses'] {
  const { session, request, order } = context;
  assert.equal(res.responses.length, request.topics.length, 'one answer topic per request topic');
  const kept: FetchResponse['responses'] = [];
  let k = 0;
  res.responses.forEach((topic, i) => {
    assert.equal(topic.partitions.length, request.topics[i]!.partitions.length,
      'one answer per request partition');
    const news: FetchResponsePartitionData[] = [];
    for (const answer of topic.partitions) {
      const cached = order[k++]!;
      if (!noteAnswer(cached, answer)) continue;
      // Partitions answered with records go to the back, so the next read starts with the
      // others (KIP-227; Kafka's IncrementalFetchContext moves only those).
      if ((answer.records?.length ?? 0) > 0) session.moveToBack(cached);
      news.push(answer);
    }
    if (news.length > 0) kept.push({ ...topic, partitions: news });
  });
  assert.equal(k, order.length, 'the session was read whole');
  return kept;
}
