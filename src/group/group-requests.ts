/**
 * What a classic group is asked and what it answers: the domain side of JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup and DescribeGroups, which the handlers translate from and to the wire
 * and the state machine (group.ts) works on.
 */

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface Protocol { name: string; metadata: Buffer }

export interface JoinRequest {
  /** '' for a member that has no id yet. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  /** JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED and an id. */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+: a rejoining static leader may be told to skip the assignment (KIP-814). */
  supportSkippingAssignment: boolean;
  reason: string | null;
}

export interface JoinedMember { memberId: string; groupInstanceId: string | null; metadata: Buffer }

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string;
  memberId: string;
  skipAssignment: boolean;
  /** The members and their metadata for the chosen protocol; only the leader gets them. */
  members: JoinedMember[];
}

export interface SyncRequest {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  /** SyncGroup v5+ states what the member believes; null before. */
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface MemberIdentity { memberId: string; groupInstanceId: string | null }

export interface LeaveResult {
  errorCode: number;
  members: (MemberIdentity & { errorCode: number })[];
}

export interface MemberSummary {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  metadata: Buffer;
  assignment: Buffer;
}

export interface GroupSummary {
  groupId: string;
  state: GroupState;
  protocolType: string;
  /** The chosen protocol while Stable, else ''. */
  protocolName: string;
  /** Metadata and assignments are filled in only while Stable, as Kafka does. */
  members: MemberSummary[];
}

/** An empty assignment or metadata. */
export const noBytes = Buffer.alloc(0);

/** Either an answer now, or one that comes when the rebalance gets there. */
export type Outcome<T> = { done: T } | { pending: Promise<T> };

export function joinError(memberId: string, errorCode: number): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leaderId: '',
    memberId, skipAssignment: false, members: [] };
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: noBytes };
}
