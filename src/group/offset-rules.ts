/**
 * Who may commit or delete a classic group's offsets, as Kafka's ClassicGroup decides it. Pure
 * functions of what the group shows (`GroupStanding`): the group (group.ts) answers OffsetCommit
 * through them and counts a valid commit as a heartbeat; the coordinator asks them directly for
 * TxnOffsetCommit and OffsetDelete.
 */
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { GroupState } from './group-requests.js';

/** What the rules read of a group. */
export interface GroupStanding {
  readonly state: GroupState;
  readonly protocolType: string | null;
  /** Topics its consumers subscribe to; null when unknown (or not a consumer group). */
  readonly subscribedTopics: ReadonlySet<string> | null;
  /** NONE, or why (member, instance, generation) is not a member of the current generation. */
  generationError(memberId: string, groupInstanceId: string | null, generationId: number): number;
}

/** A commit without a generation, member or instance id: a consumer without group management. */
function isSimpleCommit(generationId: number, memberId: string,
  groupInstanceId: string | null): boolean {
  return generationId < 0 && memberId === '' && groupInstanceId === null;
}

/**
 * Whether a member may commit offsets now (OffsetCommit). A "simple" commit is allowed only
 * while the group is Empty; a member's, only in its current generation and not while the group
 * awaits SyncGroup.
 */
export function offsetCommitError(group: GroupStanding, generationId: number, memberId: string,
  groupInstanceId: string | null): number {
  if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (isSimpleCommit(generationId, memberId, groupInstanceId)) {
    return group.state === 'Empty' ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }
  const error = group.generationError(memberId, groupInstanceId, generationId);
  if (error !== ErrorCode.NONE) return error;
  return group.state === 'CompletingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
}

/**
 * KIP-447: whether a transactional producer may commit offsets for this group (TxnOffsetCommit
 * v3+), as Kafka's ClassicGroup.validateOffsetCommit with isTransactional. Without a
 * generation, member or instance id (sendOffsetsToTransaction with a bare group id, v0-2) it
 * always may; with them they must name a current member of the current generation. Unlike
 * OffsetCommit, a rebalance awaiting SyncGroup does not refuse it and it is no heartbeat: the
 * offsets land only if the transaction commits.
 */
export function txnOffsetCommitError(group: GroupStanding, generationId: number,
  memberId: string, groupInstanceId: string | null): number {
  if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (isSimpleCommit(generationId, memberId, groupInstanceId)) return ErrorCode.NONE;
  return group.generationError(memberId, groupInstanceId, generationId);
}

/** Group-level answer to OffsetDelete: NONE when the per-topic checks decide. */
export function offsetDeleteError(group: GroupStanding): number {
  if (group.state === 'Dead') return ErrorCode.GROUP_ID_NOT_FOUND;
  if (group.state === 'Empty' || group.protocolType === 'consumer') return ErrorCode.NONE;
  return ErrorCode.NON_EMPTY_GROUP;
}

/** An active consumer group keeps the offsets of topics it subscribes to (unknown: all). */
export function isSubscribedToTopic(group: GroupStanding, topic: string): boolean {
  if (group.state === 'Empty' || group.state === 'Dead') return false;
  return group.subscribedTopics === null || group.subscribedTopics.has(topic);
}
