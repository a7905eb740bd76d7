/**
 * Which protocol a classic group uses (its members' assignors, e.g. "range" or
 * "cooperative-sticky") and which topics its consumers subscribe to. Pure functions of the
 * members' JoinGroup protocols; the state machine (group.ts) calls them as members join.
 */
import assert from 'node:assert/strict';
import type { Protocol } from './group-requests.js';

/** What these functions read of a member. */
interface Supporter { memberId: string; protocolType: string; protocols: Protocol[] }

export function sameProtocols(a: Protocol[], b: Protocol[]): boolean {
  return a.length === b.length
    && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata));
}

/** The member's metadata for the group's protocol, which every member supports. */
export function metadataFor(member: Supporter, protocolName: string): Buffer {
  const protocol = member.protocols.find((p) => p.name === protocolName);
  assert.ok(protocol !== undefined, `member ${member.memberId} lacks protocol ${protocolName}`);
  return protocol.metadata;
}

/**
 * A joining member must share a protocol type with the others and support at least one
 * protocol they all support. Unlike Kafka, the member's own current protocols do not count,
 * so a lone member may change its protocols.
 */
export function supportsProtocols(others: Supporter[], protocolType: string,
  protocols: Protocol[]): boolean {
  if (protocolType === '' || protocols.length === 0) return false;
  if (others.length === 0) return true;
  if (others[0]!.protocolType !== protocolType) return false;
  return protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)));
}

/** Each member votes for its most preferred protocol that every member supports. */
export function selectProtocol(all: Supporter[]): string {
  assert.ok(all.length > 0, 'cannot select a protocol for an empty group');
  const supportedByAll = (name: string) =>
    all.every((m) => m.protocols.some((p) => p.name === name));
  const candidates = all[0]!.protocols.map((p) => p.name).filter(supportedByAll);
  assert.ok(candidates.length > 0, 'no protocol is supported by every member');
  const votes = new Map<string, number>();
  for (const m of all) {
    const vote = m.protocols.find((p) => candidates.includes(p.name))!.name;
    votes.set(vote, (votes.get(vote) ?? 0) + 1);
  }
  let best = candidates[0]!;
  for (const [name, count] of votes) if (count > votes.get(best)!) best = name;
  return best;
}

/**
 * The topics of a ConsumerProtocolSubscription (int16 version, then an int32-counted array of
 * int16-length strings; later fields are not needed), or null if the bytes do not parse.
 */
export function parseSubscribedTopics(metadata: Buffer): string[] | null {
  if (metadata.length < 6 || metadata.readInt16BE(0) < 0) return null;
  const count = metadata.readInt32BE(2);
  if (count < 0 || count > metadata.length) return null;
  const topics: string[] = [];
  let pos = 6;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > metadata.length) return null;
    const length = metadata.readInt16BE(pos);
    pos += 2;
    if (length < 0 || pos + length > metadata.length) return null;
    topics.push(metadata.toString('utf8', pos, pos + length));
    pos += length;
  }
  return topics;
}

/** The topics a consumer group's members subscribe to, or null when unknown (not parseable). */
export function subscribedTopicsOf(members: Iterable<Supporter>, protocolName: string):
  Set<string> | null {
  const topics = new Set<string>();
  for (const m of members) {
    const parsed = parseSubscribedTopics(metadataFor(m, protocolName));
    if (parsed === null) return null;
    for (const t of parsed) topics.add(t);
  }
  return topics;
}
