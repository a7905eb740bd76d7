/**
 * Fetch: v4-17.
 * Behavior: reads each partition from its in-memory tail or, below it, from object storage; only
 * offsets below the high watermark (durable data) are visible. Long polling: with fewer than
 * minBytes available the request waits up to maxWaitMs, woken by appends. A fetch offset inside a
 * batch returns that whole batch (clients skip the records before their offset).
 * READ_COMMITTED (isolation_level 1) reads only below the last stable offset (no open
 * transaction's data) and gets the aborted transactions overlapping what it was sent, from the
 * partition's in-memory index (partition/txn-index.ts): no record is decoded to answer it.
 * Version notes: v13+ names topics by id.
 * Not implemented: incremental fetch sessions (every response has sessionId 0, which tells
 * clients to keep sending full requests, as Kafka does when its session cache is full),
 * follower fetching, preferred read replicas.
 */
import {
  decodeFetchRequest, defaultFetchResponse, encodeFetchResponse,
} from '../../../protocol/generated/messages/fetch.js';
import { waitForAppend } from '../fetch/long-poll.js';
import { readPartitions } from '../fetch/read-partitions.js';
import { defineHandler } from '../handler.js';
import { fetchLimits } from '../../limits.js';

export const handler = defineHandler({
  apiKey: 1,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 17,
  decodeRequest: decodeFetchRequest,
  encodeResponse: encodeFetchResponse,
  async handle(ctx, req, version) {
    const s = ctx.services;
    const deadlineMs = s.nowMs() + Math.min(Math.max(req.maxWaitMs, 0), fetchLimits.fetchWaitMsMax);
    // Each pass holds its data in the broker's memory budget until the answer is built (the
    // connection then holds the answer's bytes until the kernel has them).
    let pass = await readPartitions(s, req, version);
    try {
      while (pass.sizeBytes < req.minBytes && !pass.hasError) {
        const woken = await waitForAppend(pass.logs, deadlineMs - s.nowMs());
        if (!woken) break;
        const next = await readPartitions(s, req, version);
        s.memory.releaseAnswer(pass.heldBytes);
        pass = next;
      }
      const res = defaultFetchResponse();
      res.responses = pass.topics;
      return res;
    } finally {
      s.memory.releaseAnswer(pass.heldBytes);
    }
  },
});
