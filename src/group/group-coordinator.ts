/**
 * The classic group coordinator: this node coordinates every group. It keeps one `Group` state
 * machine per active group (each with its own serial queue) and stores committed offsets in the
 * metadata coordinator, which is durable when its promise resolves.
 *
 * A group lives in memory only while it has members or members-to-be; an Empty group is dropped
 * as soon as nothing is queued on it. A group that only has committed offsets is still listed
 * and described as Empty (as Kafka does, from its offsets topic).
 */
import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { Metadata } from '../metadata/stores.js';
import { Group, type GroupConfig } from './group.js';
import { isSubscribedToTopic, offsetDeleteError, txnOffsetCommitError } from './offset-rules.js';
import {
  joinError, syncError, type GroupState, type GroupSummary, type JoinRequest, type JoinResult,
  type LeaveResult, type MemberIdentity, type Outcome, type SyncRequest, type SyncResult,
} from './group-requests.js';
import { groupLimits } from '../limits.js';

export interface GroupCoordinatorOptions {
  metadata: Metadata;
  config: GroupConfig;
  log: Logger;
  nowMs: () => number;
  /** Told the number of groups held in memory whenever it changes (a gauge). */
  onGroupCount?: (n: number) => void;
  /**
   * Cluster mode: whether this broker coordinates the group now. When membership changes move a
   * group elsewhere, its members get NOT_COORDINATOR and find the new coordinator.
   */
  isCoordinator?: (groupId: string) => boolean;
}

export interface OffsetCommitEntry {
  topic: string;
  partition: number;
  offset: number;
  /** -1 when the client does not say (OffsetCommit before v6). */
  leaderEpoch: number;
  metadata: string | null;
}

export interface OffsetCommitRequest {
  /** -1 with an empty member id: a "simple" commit by a consumer without group management. */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  offsets: OffsetCommitEntry[];
}

export interface FetchedOffset {
  partition: number;
  /** -1 when nothing is committed. */
  offset: number;
  leaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface FetchOffsetsResult {
  errorCode: number;
  topics: { topic: string; partitions: FetchedOffset[] }[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  state: GroupState;
  /** Every group here is a classic group (KIP-848's "consumer" groups are not implemented). */
  groupType: 'classic';
}

export type DescribedGroup = GroupSummary & { errorCode: number };

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly metadata: Metadata;
  private readonly config: GroupConfig;
  private readonly log: Logger;
  private readonly nowMs: () => number;
  private readonly onGroupCount: (n: number) => void;
  private readonly isCoordinator: ((groupId: string) => boolean) | undefined;
  /**
   * Protocol type of groups whose members all left (their in-memory state is dropped), so they
   * still list and describe as Empty/consumer as Kafka reports them. Bounded, oldest first out.
   */
  private readonly lastProtocolTypes = new Map<string, string>();
  private closed = false;

  constructor(options: GroupCoordinatorOptions) {
    this.metadata = options.metadata;
    this.config = options.config;
    this.log = options.log;
    this.nowMs = options.nowMs;
    this.onGroupCount = options.onGroupCount ?? (() => {});
    this.isCoordinator = options.isCoordinator;
    assert.ok(this.config.groupSessionTimeoutMsMin <= this.config.groupSessionTimeoutMsMax,
      'groupSessionTimeoutMsMin must not exceed groupSessionTimeoutMsMax');
    assert.ok(this.config.groupInitialRebalanceDelayMs >= 0);
  }

  async join(groupId: string, req: JoinRequest): Promise<JoinResult> {
    const error = this.closed ? ErrorCode.COORDINATOR_NOT_AVAILABLE
      : groupId === '' ? ErrorCode.INVALID_GROUP_ID
      : this.notCoordinator(groupId) ? ErrorCode.NOT_COORDINATOR
      : req.sessionTimeoutMs < this.config.groupSessionTimeoutMsMin
        || req.sessionTimeoutMs > this.config.groupSessionTimeoutMsMax
        ? ErrorCode.INVALID_SESSION_TIMEOUT : ErrorCode.NONE;
    if (error !== ErrorCode.NONE) return joinError(req.memberId, error);
    this.rememberProtocolType(groupId, req.protocolType);
    return settled(await this.withGroup(groupId, (group) => group.join(req)));
  }

  async sync(groupId: string, req: SyncRequest): Promise<SyncResult> {
    const error = this.groupIdError(groupId);
    if (error !== ErrorCode.NONE) return syncError(error);
    return settled(await this.withGroup(groupId, (group) => group.sync(req)));
  }

  async heartbeat(groupId: string, member: MemberIdentity, generationId: number): Promise<number> {
    const error = this.groupIdError(groupId);
    if (error !== ErrorCode.NONE) return error;
    return this.withGroup(groupId, (group) => group.heartbeat(member, generationId));
  }

  async leave(groupId: string, members: MemberIdentity[]): Promise<LeaveResult> {
    const error = this.groupIdError(groupId);
    if (error !== ErrorCode.NONE) return { errorCode: error, members: [] };
    return this.withGroup(groupId, (group) => group.leave(members));
  }

  /** One error code per entry of `req.offsets`, in order. */
  async commitOffsets(groupId: string, req: OffsetCommitRequest): Promise<number[]> {
    if (this.closed) return req.offsets.map(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (this.notCoordinator(groupId)) return req.offsets.map(() => ErrorCode.NOT_COORDINATOR);
    return this.withGroup(groupId, async (group, created) => {
      // An unknown group with a generation: a member of a generation this node does not know
      // (say, from before a restart). Kafka answers ILLEGAL_GENERATION, so the member rejoins.
      const error = created && req.generationId >= 0 ? ErrorCode.ILLEGAL_GENERATION
        : group.validateOffsetCommit(req.generationId, req.memberId, req.groupInstanceId);
      if (error !== ErrorCode.NONE) return req.offsets.map(() => error);
      const errors = req.offsets.map(offsetEntryError);
      const commitTimestampMs = this.nowMs();
      const valid = req.offsets.filter((_, i) => errors[i] === ErrorCode.NONE).map((o) => ({
        topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: o.leaderEpoch,
        metadata: o.metadata ?? '', commitTimestampMs }));
      if (valid.length === 0) return errors;
      try {
        await this.metadata.offsets.commit(groupId, valid);
      } catch (err) {
        this.log.error({ err, groupId }, 'storing committed offsets failed');
        return errors.map((e) => e === ErrorCode.NONE ? ErrorCode.COORDINATOR_NOT_AVAILABLE : e);
      }
      return errors;
    });
  }

  /**
   * KIP-447's check of a TxnOffsetCommit's generation, member and instance id (see
   * offset-rules.ts). A group this node does not know accepts only a commit
   * without a generation, as Kafka answers ILLEGAL_GENERATION to one with.
   */
  async validateTxnOffsetCommit(groupId: string, member: { generationId: number;
    memberId: string; groupInstanceId: string | null }): Promise<number> {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.notCoordinator(groupId)) return ErrorCode.NOT_COORDINATOR;
    return this.withGroup(groupId, (group, created) =>
      created && member.generationId >= 0 ? ErrorCode.ILLEGAL_GENERATION
        : txnOffsetCommitError(group, member.generationId, member.memberId,
          member.groupInstanceId));
  }

  /** Committed offsets of the listed partitions (unknown ones: -1), or of all when null. */
  async fetchOffsets(groupId: string, topics: { topic: string; partitions: number[] }[] | null):
    Promise<FetchOffsetsResult> {
    if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    let committed;
    try {
      committed = await this.metadata.offsets.fetch(groupId);
    } catch (err) {
      this.log.error({ err, groupId }, 'reading committed offsets failed');
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    }
    const byTopic = new Map<string, Map<number, FetchedOffset>>();
    for (const c of committed) {
      const partitions = byTopic.get(c.topic) ?? new Map<number, FetchedOffset>();
      byTopic.set(c.topic, partitions);
      partitions.set(c.partition, { partition: c.partition, offset: c.offset,
        leaderEpoch: c.leaderEpoch, metadata: c.metadata ?? '', errorCode: ErrorCode.NONE });
    }
    if (topics === null) {
      return { errorCode: ErrorCode.NONE, topics: [...byTopic].map(([topic, partitions]) =>
        ({ topic, partitions: [...partitions.values()] })) };
    }
    return { errorCode: ErrorCode.NONE, topics: topics.map(({ topic, partitions }) => ({
      topic, partitions: partitions.map((partition) => byTopic.get(topic)?.get(partition)
        ?? { partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE }),
    })) };
  }

  /**
   * OffsetDelete. Group-level errors: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP (an active group of a
   * protocol other than "consumer"); per partition GROUP_SUBSCRIBED_TO_TOPIC while an active
   * consumer group subscribes to the topic (all topics, when its subscriptions do not parse).
   */
  async deleteOffsets(groupId: string, partitions: { topic: string; partition: number }[]):
    Promise<{ errorCode: number; partitionErrors: number[] }> {
    if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, partitionErrors: [] };
    return this.withGroup(groupId, async (group) => {
      let errorCode = offsetDeleteError(group);
      if (errorCode !== ErrorCode.NONE) return { errorCode, partitionErrors: [] };
      const partitionErrors = partitions.map((p) => isSubscribedToTopic(group, p.topic)
        ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE);
      try {
        if (group.state === 'Empty' && (await this.metadata.offsets.fetch(groupId)).length === 0) {
          return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitionErrors: [] };
        }
        const eligible = partitions.filter((_, i) => partitionErrors[i] === ErrorCode.NONE);
        if (eligible.length > 0) await this.metadata.offsets.delete(groupId, eligible);
      } catch (err) {
        this.log.error({ err, groupId }, 'deleting committed offsets failed');
        errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
      return { errorCode, partitionErrors: errorCode === ErrorCode.NONE ? partitionErrors : [] };
    });
  }

  /** Groups in memory plus groups that only have committed offsets (as Empty). */
  async listGroups(statesFilter: string[], typesFilter: string[]):
    Promise<{ errorCode: number; groups: ListedGroup[] }> {
    if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const listed = new Map<string, ListedGroup>();
    for (const g of this.groups.values()) {
      if (g.state === 'Dead') continue;
      listed.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType ?? '',
        state: g.state, groupType: 'classic' });
    }
    try {
      for (const groupId of await this.metadata.offsets.listGroups()) {
        if (!listed.has(groupId)) {
          listed.set(groupId, { groupId, protocolType: this.lastProtocolTypes.get(groupId) ?? '',
            state: 'Empty', groupType: 'classic' });
        }
      }
    } catch (err) {
      this.log.error({ err }, 'listing groups with committed offsets failed');
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    }
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((t) => t.toLowerCase()));
    const groups = [...listed.values()].filter((g) =>
      (states.size === 0 || states.has(g.state.toLowerCase()))
      && (types.size === 0 || types.has(g.groupType)));
    return { errorCode: ErrorCode.NONE, groups };
  }

  /**
   * A snapshot of each group. Group state only changes inside synchronous stretches of its
   * queue, so reading it between them (without queueing) sees a consistent group.
   */
  async describeGroups(groupIds: string[]): Promise<DescribedGroup[]> {
    const described: DescribedGroup[] = [];
    for (const groupId of groupIds) described.push(await this.describeGroup(groupId));
    return described;
  }

  private async describeGroup(groupId: string): Promise<DescribedGroup> {
    const none = { groupId, protocolType: this.lastProtocolTypes.get(groupId) ?? '', protocolName: '',
      members: [] };
    if (this.closed) {
      return { ...none, state: 'Dead', errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    }
    const group = this.groups.get(groupId);
    if (group !== undefined && group.state !== 'Dead') {
      return { ...group.summary(), errorCode: ErrorCode.NONE };
    }
    try {
      const hasOffsets = (await this.metadata.offsets.fetch(groupId)).length > 0;
      return { ...none, state: hasOffsets ? 'Empty' : 'Dead', errorCode: ErrorCode.NONE };
    } catch (err) {
      this.log.error({ err, groupId }, 'reading committed offsets failed');
      return { ...none, state: 'Dead', errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    }
  }

  /** DeleteGroups: only groups without members; their committed offsets go too. */
  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const results: { groupId: string; errorCode: number }[] = [];
    for (const groupId of groupIds) {
      results.push({ groupId, errorCode: await this.deleteGroup(groupId) });
    }
    return results;
  }

  private async deleteGroup(groupId: string): Promise<number> {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return this.withGroup(groupId, async (group, created) => {
      if (group.state === 'Dead') return ErrorCode.GROUP_ID_NOT_FOUND;
      if (group.state !== 'Empty') return ErrorCode.NON_EMPTY_GROUP;
      try {
        if (created && (await this.metadata.offsets.fetch(groupId)).length === 0) {
          return ErrorCode.GROUP_ID_NOT_FOUND;
        }
        await this.metadata.offsets.deleteGroup(groupId);
        this.lastProtocolTypes.delete(groupId);
      } catch (err) {
        this.log.error({ err, groupId }, 'deleting a group failed');
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
      // Requests already queued on this group find it Dead, as in Kafka; new ones start afresh.
      this.dropGroup(group, ErrorCode.COORDINATOR_NOT_AVAILABLE);
      this.log.info({ groupId }, 'group deleted');
      return ErrorCode.NONE;
    });
  }

  /** Clears every timer; waiting JoinGroup/SyncGroup requests get COORDINATOR_NOT_AVAILABLE. */
  close(): void {
    this.closed = true;
    for (const group of this.groups.values()) group.markDead(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    this.groups.clear();
    this.onGroupCount(0);
  }

  /** Runs `fn` in the group's queue, creating the group (Empty) if it is not in memory. */
  private withGroup<T>(groupId: string, fn: (group: Group, created: boolean) => Promise<T> | T):
    Promise<T> {
    let group = this.groups.get(groupId);
    const created = group === undefined;
    if (group === undefined) {
      group = new Group(groupId, { config: this.config, log: this.log,
        onIdle: (idle) => this.dropGroup(idle, ErrorCode.COORDINATOR_NOT_AVAILABLE) });
      this.groups.set(groupId, group);
      this.onGroupCount(this.groups.size);
    }
    const g = group;
    return g.run(() => fn(g, created));
  }

  private dropGroup(group: Group, errorCode: number): void {
    group.markDead(errorCode);
    if (this.groups.get(group.groupId) !== group) return;
    this.groups.delete(group.groupId);
    this.onGroupCount(this.groups.size);
  }

  private groupIdError(groupId: string): number {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.notCoordinator(groupId)) return ErrorCode.NOT_COORDINATOR;
    return groupId === '' ? ErrorCode.INVALID_GROUP_ID : ErrorCode.NONE;
  }

  private rememberProtocolType(groupId: string, protocolType: string): void {
    this.lastProtocolTypes.delete(groupId);
    this.lastProtocolTypes.set(groupId, protocolType);
    if (this.lastProtocolTypes.size > groupLimits.rememberedProtocolTypesMax) {
      this.lastProtocolTypes.delete(this.lastProtocolTypes.keys().next().value!);
    }
  }

  /** The group moved to another broker: forget its members here, so they rejoin there. */
  private notCoordinator(groupId: string): boolean {
    if (this.isCoordinator === undefined || this.isCoordinator(groupId)) return false;
    const group = this.groups.get(groupId);
    if (group !== undefined) this.dropGroup(group, ErrorCode.NOT_COORDINATOR);
    return true;
  }
}

function settled<T>(outcome: Outcome<T>): T | Promise<T> {
  return 'done' in outcome ? outcome.done : outcome.pending;
}

function offsetEntryError(o: OffsetCommitEntry): number {
  if ((o.metadata?.length ?? 0) > groupLimits.offsetMetadataBytesMax) {
    return ErrorCode.OFFSET_METADATA_TOO_LARGE;
  }
  if (!Number.isSafeInteger(o.offset) || !Number.isSafeInteger(o.partition)) {
    return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
  }
  return ErrorCode.NONE;
}
