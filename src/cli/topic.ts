/**
 * `ledgerstream topic create|list|describe|alter|delete`: what kafka-topics.sh and kafka-configs.sh
 * do for topics, through the Kafka protocol (any broker that speaks it works).
 */
import kafkajs, { type Admin } from 'kafkajs';
import { type Command } from 'commander';
import { CliError, type ConnectOptions, intOption, noSuchTopic, table, withAdmin } from './connect.js';

const { ConfigResourceTypes } = kafkajs;

interface TopicOptions extends ConnectOptions {
  partitions?: string;
  config?: string[];
  deleteConfig?: string[];
}

function parseConfigs(pairs: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--config: expected key=value, got "${pair}"`, 2);
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

/** The topic's settings that differ from the broker's defaults. */
async function overrides(admin: Admin, topic: string): Promise<Map<string, string>> {
  const res = await admin.describeConfigs({ includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
  const entries = res.resources[0]?.configEntries ?? [];
  return new Map(entries.filter((e) => !e.isDefault).map((e) => [e.configName, e.configValue]));
}

async function requireTopic(admin: Admin, topic: string): Promise<void> {
  if (!(await admin.listTopics()).includes(topic)) {
    throw noSuchTopic(topic);
  }
}

async function create(name: string, opts: TopicOptions): Promise<void> {
  const numPartitions = opts.partitions === undefined ? -1 : intOption('--partitions', opts.partitions, 1);
  const configEntries = [...parseConfigs(opts.config)].map(([k, v]) => ({ name: k, value: v }));
  await withAdmin(opts, async (admin) => {
    if ((await admin.listTopics()).includes(name)) throw new CliError(`topic "${name}" already exists`);
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: name, numPartitions, configEntries }] });
    const meta = await admin.fetchTopicMetadata({ topics: [name] });
    console.log(`created topic ${name} with ${meta.topics[0]!.partitions.length} partitions`);
  });
}

async function list(opts: ConnectOptions): Promise<void> {
  const names = await withAdmin(opts, (admin) => admin.listTopics());
  for (const n of names.sort()) console.log(n);
}

async function describe(name: string, opts: ConnectOptions): Promise<void> {
  await withAdmin(opts, async (admin) => {
    await requireTopic(admin, name);
    const meta = (await admin.fetchTopicMetadata({ topics: [name] })).topics[0]!;
    const offsets = await admin.fetchTopicOffsets(name);
    const configs = [...(await overrides(admin, name))].map(([k, v]) => `${k}=${v}`).join(',');
    console.log(`Topic: ${name}\tPartitionCount: ${meta.partitions.length}\tConfigs: ${configs}`);
    const rows: (string | number)[][] = [['PARTITION', 'LEADER', 'LOG-START-OFFSET', 'HIGH-WATERMARK']];
    for (const p of [...meta.partitions].sort((a, b) => a.partitionId - b.partitionId)) {
      const o = offsets.find((x) => x.partition === p.partitionId);
      rows.push([p.partitionId, p.leader, o?.low ?? '?', o?.high ?? '?']);
    }
    console.log(table(rows));
  });
}

async function alter(name: string, opts: TopicOptions): Promise<void> {
  const set = parseConfigs(opts.config);
  const remove = opts.deleteConfig ?? [];
  if (opts.partitions === undefined && set.size === 0 && remove.length === 0) {
    throw new CliError('nothing to alter: pass --partitions N, --config key=value or --delete-config key', 2);
  }
  await withAdmin(opts, async (admin) => {
    await requireTopic(admin, name);
    if (opts.partitions !== undefined) {
      const count = intOption('--partitions', opts.partitions, 1);
      const now = (await admin.fetchTopicMetadata({ topics: [name] })).topics[0]!.partitions.length;
      if (count < now) throw new CliError(`--partitions ${count}: a topic cannot shrink (it has ${now})`);
      if (count > now) await admin.createPartitions({ topicPartitions: [{ topic: name, count }] });
      console.log(`topic ${name}: ${count} partitions`);
    }
    if (set.size > 0 || remove.length > 0) {
      // AlterConfigs replaces a topic's whole set of overrides: start from the current ones.
      const next = await overrides(admin, name);
      for (const [k, v] of set) next.set(k, v);
      for (const k of remove) next.delete(k);
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name,
        configEntries: [...next].map(([k, v]) => ({ name: k, value: v })) }] });
      console.log(`topic ${name}: configs ${[...next].map(([k, v]) => `${k}=${v}`).join(',') || '(defaults)'}`);
    }
  });
}

async function remove(name: string, opts: ConnectOptions): Promise<void> {
  await withAdmin(opts, async (admin) => {
    await requireTopic(admin, name);
    await admin.deleteTopics({ topics: [name] });
    console.log(`deleted topic ${name}`);
  });
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addTopicCommands(program: Command, withBootstrap: (c: Command) => Command): void {
  const topic = program.command('topic').description('create, list, describe, alter and delete topics');
  withBootstrap(topic.command('create <name>').description('create a topic')
    .option('-p, --partitions <n>', 'number of partitions (default: the broker\'s default)')
    .option('-c, --config <key=value>', 'a topic setting, e.g. retention.ms=86400000 (repeatable)', collect))
    .action(create);
  withBootstrap(topic.command('list').description('list topic names')).action(list);
  withBootstrap(topic.command('describe <name>').description('partitions, leaders, offsets and settings'))
    .action(describe);
  withBootstrap(topic.command('alter <name>').description('add partitions or change settings')
    .option('-p, --partitions <n>', 'grow the topic to n partitions')
    .option('-c, --config <key=value>', 'set a topic setting (repeatable)', collect)
    .option('--delete-config <key>', 'return a setting to the broker default (repeatable)', collect))
    .action(alter);
  withBootstrap(topic.command('delete <name>').description('delete a topic and its data')).action(remove);
}
