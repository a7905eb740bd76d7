/**
 * `ledgerstream group list|describe|reset|delete`: what kafka-consumer-groups.sh does, with the
 * same columns and the same rule that a reset is a dry run until --execute.
 */
import { type Command } from 'commander';
import kafkajs, { type Admin } from 'kafkajs';
import { CliError, type ConnectOptions, intOption, noSuchGroup, requireTopic, table, timeOption, withAdmin }
  from './connect.js';

const { AssignerProtocol } = kafkajs;

async function list(opts: ConnectOptions): Promise<void> {
  await withAdmin(opts, async (admin) => {
    const { groups } = await admin.listGroups();
    const ids = groups.map((g) => g.groupId).sort();
    const described = ids.length === 0 ? [] : (await admin.describeGroups(ids)).groups;
    const rows: string[][] = [['GROUP', 'STATE', 'MEMBERS']];
    for (const g of described) rows.push([g.groupId, g.state, String(g.members.length)]);
    console.log(ids.length === 0 ? 'no consumer groups' : table(rows));
  });
}

interface Owner { memberId: string; clientId: string; clientHost: string }

/** Who holds each partition of a group now (topic → partition → member), from the assignments. */
function owners(members: readonly (Owner & { memberAssignment: Buffer })[]): Map<string, Map<number, Owner>> {
  const out = new Map<string, Map<number, Owner>>();
  for (const m of members) {
    const decoded = m.memberAssignment.length === 0 ? null : AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
    for (const [topic, partitions] of Object.entries(decoded?.assignment ?? {})) {
      const held = out.get(topic) ?? new Map<number, Owner>();
      for (const p of partitions) held.set(p, m);
      out.set(topic, held);
    }
  }
  return out;
}

type Row = (string | number)[];

/**
 * One row per partition of a topic the group reads. Every partition is listed, not only those
 * with a committed offset (Kafka lists only those for a group without members): a partition the
 * group never committed in may hold records it has not read, and leaving it out hides that lag.
 */
async function topicRows(admin: Admin, topic: string, committed: Map<number, number>,
  held: Map<number, Owner>, exists: boolean): Promise<Row[]> {
  const ends = new Map<number, number>();
  // A deleted topic's offsets can outlive it; its rows show what was committed, without an end.
  if (exists) for (const e of await admin.fetchTopicOffsets(topic)) ends.set(e.partition, Number(e.high));
  const partitions = [...new Set([...ends.keys(), ...committed.keys()])].sort((a, b) => a - b);
  return partitions.map((p) => {
    const current = committed.get(p) ?? -1;
    const end = ends.get(p);
    const owner = held.get(p);
    return [topic, p, current < 0 ? '-' : current, end ?? '-',
      current < 0 || end === undefined ? '-' : Math.max(0, end - current),
      owner?.memberId ?? '-', owner?.clientHost ?? '-', owner?.clientId ?? '-'];
  });
}

async function describe(groupId: string, opts: ConnectOptions): Promise<void> {
  await withAdmin(opts, async (admin) => {
    const group = (await admin.describeGroups([groupId])).groups[0];
    const committed = await admin.fetchOffsets({ groupId });
    if (group === undefined || (group.state === 'Dead' && committed.length === 0)) {
      throw noSuchGroup(groupId);
    }
    const held = owners(group.members);
    const existing = new Set(await admin.listTopics());
    const topics = [...new Set([...committed.map((c) => c.topic), ...held.keys()])].sort();
    const rows: Row[] = [['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG',
      'CONSUMER-ID', 'HOST', 'CLIENT-ID']];
    for (const topic of topics) {
      const offsets = committed.find((c) => c.topic === topic)?.partitions ?? [];
      const committedByPartition = new Map(offsets.map((p) => [p.partition, Number(p.offset)]));
      rows.push(...await topicRows(admin, topic, committedByPartition, held.get(topic) ?? new Map(),
        existing.has(topic)));
    }
    console.log(`Consumer group '${groupId}' is ${group.state} with ${group.members.length} member(s).`);
    console.log(rows.length === 1 ? 'no committed offsets and no assigned partitions' : table(rows));
  });
}

interface ResetOptions extends ConnectOptions {
  topic: string;
  toEarliest?: boolean;
  toLatest?: boolean;
  toOffset?: string;
  toDatetime?: string;
  shiftBy?: string;
  execute?: boolean;
}

/** Where a reset moves the offsets, parsed from its options before any broker is asked. */
type ResetTarget = { to: 'earliest' | 'latest' } | { to: 'offset'; offset: number } | { to: 'time'; ms: number }
  | { to: 'shift'; by: number };

function resetTarget(opts: ResetOptions): ResetTarget {
  const chosen = [opts.toEarliest, opts.toLatest, opts.toOffset, opts.toDatetime, opts.shiftBy]
    .filter((o) => o !== undefined);
  if (chosen.length !== 1) {
    throw new CliError('choose one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO, --shift-by N', 2);
  }
  if (opts.toOffset !== undefined) return { to: 'offset', offset: intOption('--to-offset', opts.toOffset, 0) };
  if (opts.toDatetime !== undefined) return { to: 'time', ms: timeOption('--to-datetime', opts.toDatetime) };
  if (opts.shiftBy !== undefined) return { to: 'shift', by: intOption('--shift-by', opts.shiftBy) };
  return { to: opts.toEarliest ? 'earliest' : 'latest' };
}

/** The new offset of every partition of the topic, within what the log holds. */
async function newOffsets(admin: Admin, groupId: string, topic: string, target: ResetTarget):
  Promise<{ partition: number; offset: number }[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const clamp = (partition: number, offset: number) => {
    const e = ends.find((x) => x.partition === partition)!;
    return Math.min(Math.max(offset, Number(e.low)), Number(e.high));
  };
  if (target.to === 'time') {
    const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, target.ms);
    return byTime.map((p) => ({ partition: p.partition, offset: clamp(p.partition, Number(p.offset)) }))
      .sort((a, b) => a.partition - b.partition);
  }
  const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? [];
  return ends.map((e) => {
    const now = Number(committed.find((c) => c.partition === e.partition)?.offset ?? -1);
    const offset = target.to === 'offset' ? target.offset
      : target.to === 'shift' ? (now < 0 ? Number(e.low) : now) + target.by
        : target.to === 'earliest' ? Number(e.low) : Number(e.high);
    return { partition: e.partition, offset: clamp(e.partition, offset) };
  }).sort((a, b) => a.partition - b.partition);
}

async function reset(groupId: string, opts: ResetOptions): Promise<void> {
  const target = resetTarget(opts);
  await withAdmin(opts, async (admin) => {
    await requireTopic(admin, opts.topic);
    const offsets = await newOffsets(admin, groupId, opts.topic, target);
    if (opts.execute) {
      const group = (await admin.describeGroups([groupId])).groups[0];
      if (group !== undefined && group.members.length > 0) {
        throw new CliError(`consumer group "${groupId}" has ${group.members.length} active member(s): ` +
          'stop its consumers first (offsets of an active group cannot be reset)');
      }
      await admin.setOffsets({ groupId, topic: opts.topic,
        partitions: offsets.map((o) => ({ partition: o.partition, offset: String(o.offset) })) });
    }
    console.log(table([['TOPIC', 'PARTITION', 'NEW-OFFSET'], ...offsets.map((o) => [opts.topic, o.partition, o.offset])]));
    if (!opts.execute) console.log('dry run: nothing changed; add --execute to apply');
  });
}

/** The broker's reason for refusing to delete the group, as what to do about it. */
function deleteRefused(groupId: string, err: unknown): unknown {
  const refusal = (err as { groups?: { error?: { type?: string } }[] }).groups?.[0]?.error?.type;
  if (refusal === 'GROUP_ID_NOT_FOUND') {
    return noSuchGroup(groupId);
  }
  if (refusal === 'NON_EMPTY_GROUP') {
    return new CliError(`consumer group "${groupId}" has active members: stop its consumers first, then delete it`);
  }
  return refusal === undefined ? err : new CliError(`cannot delete consumer group "${groupId}": ${refusal}`);
}

async function remove(groupId: string, opts: ConnectOptions): Promise<void> {
  await withAdmin(opts, async (admin) => {
    await admin.deleteGroups([groupId]).catch((err: unknown) => { throw deleteRefused(groupId, err); });
    console.log(`deleted consumer group ${groupId}`);
  });
}

export function addGroupCommands(program: Command, withBootstrap: (c: Command) => Command): void {
  const group = program.command('group').description('list, describe (with lag), reset and delete consumer groups');
  withBootstrap(group.command('list').description('consumer groups with their state')).action(list);
  withBootstrap(group.command('describe <group>').description('committed offsets, log end offsets and lag per partition'))
    .action(describe);
  withBootstrap(group.command('reset <group>').description('move a group\'s committed offsets (a dry run unless --execute)')
    .requiredOption('-t, --topic <topic>', 'the topic whose offsets move')
    .option('--to-earliest', 'to the oldest retained record')
    .option('--to-latest', 'to the end (skip everything)')
    .option('--to-offset <n>', 'to offset n in every partition')
    .option('--to-datetime <iso>', 'to the first record at or after this time')
    .option('--shift-by <n>', 'by n from the committed offset (negative: back)')
    .option('--execute', 'apply (without it, only print what would change)'))
    .action(reset);
  withBootstrap(group.command('delete <group>').description('delete a group with no members and its offsets'))
    .action(remove);
}
