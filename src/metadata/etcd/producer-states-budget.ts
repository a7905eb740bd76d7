/**
 * One partition's producer list in etcd is one value, and a value must fit one etcd request
 * (etcdCoordinatorLimits.producerStatesBytesMax). A partition written by many idempotent
 * producers within producer.id.expiration.ms (an agent fleet whose agents come and go, each
 * with a new producer id) outgrows it. Refusing the commit then stalled the upload of every
 * partition in the object, for as long as the producers stayed unexpired (a day by default).
 *
 * So the list is cut to fit instead: the entries that must stay (the partition's transaction
 * index, a negative producer id, and every producer with a transaction open) and then the most
 * recently active producers, as many as fit. A producer left out is remembered by the leader
 * that has it in memory, but a leader taking over after a failover does not know it, and takes
 * its next batch at whatever sequence it has reached, as Kafka takes a producer whose state
 * expired: a retry, across that failover, of a batch it had already written would then be
 * written again. Only the least recently active producers are left out, and those are the ones
 * least likely to have a batch in flight.
 */
import assert from 'node:assert/strict';
import type { ProducerPartitionState } from '../records.js';
import { encodeProducerStates } from './codecs.js';

export interface BoundedProducerStates {
  /** The JSON value, at most the budget's bytes. */
  value: string;
  /** Producers left out of it. */
  leftOut: number;
  /** Producers in it (the transaction index entry not counted). */
  kept: number;
}

/** One partition's producer list as the commit gives it. */
export interface ProducerList {
  partition: string;
  states: readonly ProducerPartitionState[];
}

/**
 * Encodes the lists of one commit: each within `eachBytesMax`, all together within
 * `totalBytesMax` (the commit is one etcd request). The smallest lists are encoded first and
 * whole when they fit their share of what is left; the room they leave goes to the larger ones,
 * so only the crowded lists are cut, and they share the room evenly.
 */
export function encodeProducerListsWithin(lists: readonly ProducerList[], eachBytesMax: number,
  totalBytesMax: number): Map<string, BoundedProducerStates> {
  const sized = lists.map((l) => ({ ...l, whole: encodeProducerStates([...l.states]) }))
    .map((l) => ({ ...l, bytes: Buffer.byteLength(l.whole) }))
    .sort((a, b) => a.bytes - b.bytes);
  const out = new Map<string, BoundedProducerStates>();
  let leftBytes = totalBytesMax;
  for (const [i, l] of sized.entries()) {
    const shareBytes = Math.min(eachBytesMax, Math.floor(leftBytes / (sized.length - i)));
    const list = encodeProducerStatesWithin(l.states, shareBytes, l.partition, l.whole);
    leftBytes -= Buffer.byteLength(list.value);
    out.set(l.partition, list);
  }
  assert.ok(leftBytes >= 0, 'the lists of a commit fit their budget together');
  return out;
}

/**
 * Encodes `states` within `bytesMax` bytes, leaving out the least recently active producers when
 * all of them do not fit. Throws a RangeError when what must stay does not fit by itself.
 * `whole` is the encoding of all of them, when the caller has it already.
 */
export function encodeProducerStatesWithin(states: readonly ProducerPartitionState[],
  bytesMax: number, partition: string, whole = encodeProducerStates([...states])):
  BoundedProducerStates {
  const producers = (list: readonly ProducerPartitionState[]) =>
    list.filter((s) => s.producerId >= 0).length;
  if (Buffer.byteLength(whole) <= bytesMax) {
    return { value: whole, leftOut: 0, kept: producers(states) };
  }
  const inTransaction = new Set(states.flatMap((s) => s.txnIndex?.open.map(([id]) => id) ?? []));
  const mustStay = (s: ProducerPartitionState) =>
    s.producerId < 0 || s.txnIndex !== undefined || inTransaction.has(s.producerId);
  const ranked = [...states].sort((a, b) =>
    Number(mustStay(b)) - Number(mustStay(a)) || b.lastTimestampMs - a.lastTimestampMs);
  const kept: ProducerPartitionState[] = [];
  let bytes = 2; // the list's brackets; a comma before each entry but the first
  for (const s of ranked) {
    const entryBytes = Buffer.byteLength(JSON.stringify(s)) + (kept.length > 0 ? 1 : 0);
    if (bytes + entryBytes > bytesMax) {
      if (mustStay(s)) {
        throw new RangeError(`producer states of ${partition}: its transaction index and the ` +
          `producers with a transaction open take more than ${bytesMax} bytes`);
      }
      break; // the rest are less recently active
    }
    kept.push(s);
    bytes += entryBytes;
  }
  const value = encodeProducerStates(kept);
  assert.ok(Buffer.byteLength(value) <= bytesMax, 'the cut list fits its budget');
  return { value, leftOut: states.length - kept.length, kept: producers(kept) };
}
