/**
 * `ledgerstream produce` and `ledgerstream consume`: the console producer and consumer. produce
 * sends one record per line of standard input; consume prints one record per line.
 */
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { type Command } from 'commander';
import { type Kafka, type Message } from 'kafkajs';
import { CliError, type ConnectOptions, explain, intOption, kafkaFor, requireTopic, timeOption, withAdmin }
  from './connect.js';

/** Records per send: big enough to batch, small enough to bound memory for any stdin. */
const SEND_RECORDS_MAX = 500;

interface ProduceOptions extends ConnectOptions {
  keySeparator?: string;
  acks: string;
}

async function produce(topic: string, opts: ProduceOptions): Promise<void> {
  const acks = intOption('--acks', opts.acks, -1);
  if (acks !== -1 && acks !== 0 && acks !== 1) throw new CliError('--acks: expected -1 (all), 0 or 1', 2);
  const producer = kafkaFor(opts).producer({ idempotent: acks === -1, allowAutoTopicCreation: true });
  let sent = 0;
  try {
    await producer.connect();
    let pending: Message[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      await producer.send({ topic, acks, messages: pending });
      sent += pending.length;
      pending = [];
    };
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      const sep = opts.keySeparator === undefined ? -1 : line.indexOf(opts.keySeparator);
      pending.push(sep < 0 ? { value: line }
        : { key: line.slice(0, sep), value: line.slice(sep + opts.keySeparator!.length) });
      if (pending.length >= SEND_RECORDS_MAX) await flush();
    }
    await flush();
  } catch (err) {
    throw explain(err, opts);
  } finally {
    await producer.disconnect().catch(() => {});
  }
  console.error(`produced ${sent} records to ${topic}`);
}

interface ConsumeOptions extends ConnectOptions {
  group?: string;
  fromBeginning?: boolean;
  offset?: string;
  fromTime?: string;
  maxMessages?: string;
  printKey?: boolean;
  printOffset?: boolean;
  timeoutMs?: string;
}

/** Where a throwaway group starts, set before it joins (kafkajs seeks only after it runs). */
async function placeStart(opts: ConsumeOptions, topic: string, groupId: string): Promise<void> {
  const offset = opts.offset === undefined ? undefined : intOption('--offset', opts.offset, 0);
  const fromMs = opts.fromTime === undefined ? undefined : timeOption('--from-time', opts.fromTime);
  await withAdmin(opts, async (admin) => {
    await requireTopic(admin, topic);
    if (offset === undefined && fromMs === undefined) return;
    const partitions = offset !== undefined
      ? (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition,
        offset: String(Math.min(Math.max(offset, Number(p.low)), Number(p.high))) }))
      : (await admin.fetchTopicOffsetsByTimestamp(topic, fromMs))
        .map((p) => ({ partition: p.partition, offset: p.offset }));
    await admin.setOffsets({ groupId, topic, partitions });
  });
}

async function consume(topic: string, opts: ConsumeOptions): Promise<void> {
  if (opts.group !== undefined && (opts.offset !== undefined || opts.fromTime !== undefined)) {
    throw new CliError('--offset and --from-time start a new reader; to move a group, use `ledgerstream group reset`', 2);
  }
  const max = opts.maxMessages === undefined ? Infinity : intOption('--max-messages', opts.maxMessages, 1);
  const timeoutMs = opts.timeoutMs === undefined ? Infinity : intOption('--timeout-ms', opts.timeoutMs, 1);
  const throwaway = opts.group === undefined;
  const groupId = opts.group ?? `ledgerstream-cli-${randomUUID()}`;
  const kafka = kafkaFor(opts);
  await placeStart(opts, topic, groupId);
  const printed = await readRecords(kafka, topic, groupId, opts, max, timeoutMs).catch((err: unknown) => {
    throw explain(err, opts);
  });
  // Kafka's console consumer leaves its random group behind; nothing will read it again.
  if (throwaway) await withAdmin(opts, (admin) => admin.deleteGroups([groupId])).catch(() => {});
  console.error(`consumed ${printed} records`);
}

/** Prints records until `max` or `timeoutMs` without one; commits exactly what was printed. */
async function readRecords(kafka: Kafka, topic: string, groupId: string, opts: ConsumeOptions,
  max: number, timeoutMs: number): Promise<number> {
  // A short long-poll: stopping waits for the fetch in flight, and a person is waiting.
  const consumer = kafka.consumer({ groupId, rebalanceTimeout: 10_000, sessionTimeout: 10_000, maxWaitTimeInMs: 500 });
  let printed = 0;
  const next = new Map<number, number>();
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => { done = resolve; });
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idle);
    if (Number.isFinite(timeoutMs)) idle = setTimeout(done, timeoutMs);
  };
  process.once('SIGINT', () => done());
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: opts.fromBeginning === true || opts.offset !== undefined });
    armIdle();
    await consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => {
      if (printed >= max) return;
      const value = message.value?.toString() ?? '';
      const prefix = (opts.printOffset ? `${partition}:${message.offset}\t` : '') +
        (opts.printKey ? `${message.key?.toString() ?? ''}\t` : '');
      process.stdout.write(`${prefix}${value}\n`);
      printed++;
      next.set(partition, Number(message.offset) + 1);
      armIdle();
      if (printed >= max) done();
    } });
    await finished;
    clearTimeout(idle);
    if (next.size > 0) {
      await consumer.commitOffsets([...next].map(([partition, offset]) => ({ topic, partition, offset: String(offset) })));
    }
  } finally {
    clearTimeout(idle);
    await consumer.disconnect().catch(() => {});
  }
  return printed;
}

export function addProduceConsumeCommands(program: Command, withBootstrap: (c: Command) => Command): void {
  withBootstrap(program.command('produce <topic>').description('send each line of standard input as a record')
    .option('-k, --key-separator <sep>', 'split each line into key and value at the first <sep>')
    .option('--acks <n>', 'acknowledgements: -1 (all, idempotent), 1 or 0', '-1'))
    .action(produce);
  withBootstrap(program.command('consume <topic>').description('print records, one per line')
    .option('-g, --group <id>', 'read as this consumer group, committing what was printed')
    .option('--from-beginning', 'start at the oldest record when the group has no committed offset')
    .option('--offset <n>', 'start every partition at offset n (a new reader, not a group)')
    .option('--from-time <iso>', 'start at the first record at or after this time (a new reader)')
    .option('-n, --max-messages <n>', 'stop after n records')
    .option('--timeout-ms <ms>', 'stop when no record arrived for this long')
    .option('--print-key', 'print the key and a tab before the value')
    .option('--print-offset', 'print partition:offset and a tab first'))
    .action(consume);
}
