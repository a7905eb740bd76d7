/**
 * What the transaction APIs share: PRODUCER_FENCED (code 90) exists only from a version of each
 * API on; older clients get INVALID_PRODUCER_EPOCH for it, as Kafka's handlers answer.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';

export function fencedErrorFor(errorCode: number, version: number,
  fencedFromVersion: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && version < fencedFromVersion
    ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}

/** A transactional id's producer id on the wire (int64) as a number; -1 when out of range. */
export function producerIdOf(wire: bigint): number {
  const n = Number(wire);
  return Number.isSafeInteger(n) ? n : -1;
}
