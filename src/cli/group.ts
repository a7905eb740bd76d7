/**
 * `ledgerstream group list|describe|reset|delete`: what kafka-consumer-groups.sh does, with the
 * same columns and the same rule that a reset is a dry run until --execute.
 */
import { type Command } from 'commander';
import kafkajs, { type Admin } from 'kafkajs';
import { CliError, type ConnectOptions, intOption, requireTopic, table, timeOption, withAdmin } from './connect.js';

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

/** Who holds each partition of a group now, from the members' assignments. */
function owners(members: readonly { memberId: string; clientId: string; clientHost: string;
  memberAssignment: Buffer }[]): Map<string, { memberId: string; clientId: string; clientHost: string }> {
  const out = new Map<string, { memberId: string; clientId: string; clientHost: string }>();
  for (const m of members) {
    const decoded = m.memberAssignment.length === 0 ? null : AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
    for (const [topic, partitions] of Object.entries(decoded?.assignment ?? {})) {
      for (const p of partitions) out.set(`${topic}:${p}`, m);
    }
  }
  return out;
}

async function describe(groupId: string, opts: ConnectOptions): Promise<void> {
  await withAdmin(opts, async (admin) => {
    const group = (await admin.describeGroups([groupId])).groups[0];
    const committed = await admin.fetchOffsets({ groupId });
    if (group === undefined || (group.state === 'Dead' && committed.length === 0)) {
      throw new CliError(`consumer group "${groupId}" does not exist (see \`ledgerstream group list\`)`);
    }
    const held = owners(group.members);
    const rows: (string | number)[][] = [['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG',
      'CONSUMER-ID', 'HOST', 'CLIENT-ID']];
    for (const { topic, partitions } of committed.sort((a, b) => a.topic.localeCompare(b.topic))) {
      const ends = await admin.fetchTopicOffsets(topic);
      for (const p of [...partitions].sort((a, b) => a.partition - b.partition)) {
        const end = Number(ends.find((e) => e.partition === p.partition)?.high ?? -1);
        const current = Number(p.offset);
        const owner = held.get(`${topic}:${p.partition}`);
        rows.push([topic, p.partition, current < 0 ? '-' : current, end, current < 0 ? '-' : Math.max(0, end - current),
          owner?.memberId ?? '-', owner?.clientHost ?? '-', owner?.clientId ?? '-']);
      }
    }
    console.log(`Consumer group '${groupId}' is ${group.state} with ${group.members.length} member(s).`);
    console.log(rows.length === 1 ? 'no committed offsets' : table(rows));
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

async function target(admin: Admin, groupId: string, opts: ResetOptions): Promise<{ partition: number; offset: number }[]> {
  const chosen = [opts.toEarliest, opts.toLatest, opts.toOffset, opts.toDatetime, opts.shiftBy]
    .filter((o) => o !== undefined);
  if (chosen.length !== 1) {
    throw new CliError('choose one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO, --shift-by N', 2);
  }
  const ends = await admin.fetchTopicOffsets(opts.topic);
  const clamp = (partition: number, offset: number) => {
    const e = ends.find((x) => x.partition === partition)!;
    return Math.min(Math.max(offset, Number(e.low)), Number(e.high));
  };
  if (opts.toDatetime !== undefined) {
    const byTime = await admin.fetchTopicOffsetsByTimestamp(opts.topic, timeOption('--to-datetime', opts.toDatetime));
    return byTime.map((p) => ({ partition: p.partition, offset: clamp(p.partition, Number(p.offset)) }));
  }
  const committed = (await admin.fetchOffsets({ groupId, topics: [opts.topic] }))[0]?.partitions ?? [];
  return ends.map((e) => {
    const now = Number(committed.find((c) => c.partition === e.partition)?.offset ?? -1);
    const offset = opts.toEarliest ? Number(e.low) : opts.toLatest ? Number(e.high)
      : opts.toOffset !== undefined ? intOption('--to-offset', opts.toOffset, 0)
        : (now < 0 ? Number(e.low) : now) + intOption('--shift-by', opts.shiftBy!);
    return { partition: e.partition, offset: clamp(e.partition, offset) };
  }).sort((a, b) => a.partition - b.partition);
}

async function reset(groupId: string, opts: ResetOptions): Promise<void> {
  await withAdmin(opts, async (admin) => {
    await requireTopic(admin, opts.topic);
    const offsets = await target(admin, groupId, opts);
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

async function remove(groupId: string, opts: ConnectOptions): Promise<void> {
  await withAdmin(opts, async (admin) => {
    await admin.deleteGroups([groupId]);
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
