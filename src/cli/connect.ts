/**
 * How the CLI's client commands reach a broker: the bootstrap address (Kafka's
 * --bootstrap-server, or LEDGERSTREAM_BOOTSTRAP, default 127.0.0.1:9092), a quiet kafkajs client,
 * and errors that say what to do about them.
 */
import kafkajs, { type Admin, type Kafka } from 'kafkajs';

// kafkajs is CommonJS: Node's ESM loader cannot see its named exports, so they come from the default.
const { Kafka: KafkaClient, logLevel } = kafkajs;

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

/** A failure the user can act on: printed as one line, exit code 1 (2 for usage). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export interface ConnectOptions {
  bootstrapServer?: string;
}

export function bootstrapOf(opts: ConnectOptions): string[] {
  const raw = opts.bootstrapServer ?? process.env['LEDGERSTREAM_BOOTSTRAP'] ?? DEFAULT_BOOTSTRAP;
  const servers = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of servers) {
    if (!/^[^:\s]+:\d{1,5}$/.test(s)) {
      throw new CliError(`--bootstrap-server: "${s}" is not host:port (e.g. ${DEFAULT_BOOTSTRAP})`, 2);
    }
  }
  if (servers.length === 0) throw new CliError('--bootstrap-server is empty', 2);
  return servers;
}

export function kafkaFor(opts: ConnectOptions): Kafka {
  // Few, short retries: a person is waiting, and a wrong address should fail in seconds.
  return new KafkaClient({ clientId: 'ledgerstream-cli', brokers: bootstrapOf(opts), logLevel: logLevel.NOTHING,
    connectionTimeout: 3000, requestTimeout: 30_000, retry: { retries: 2, initialRetryTime: 200 } });
}

export function noSuchTopic(topic: string): CliError {
  return new CliError(`topic "${topic}" does not exist (see \`ledgerstream topic list\`)`);
}

export function noSuchGroup(groupId: string): CliError {
  return new CliError(`consumer group "${groupId}" does not exist (see \`ledgerstream group list\`)`);
}

export function cannotReach(opts: ConnectOptions): CliError {
  return new CliError(`cannot reach a broker at ${bootstrapOf(opts).join(',')}: is one running? Start one with ` +
    '`npx ledgerstream start`, or pass --bootstrap-server host:port');
}

/** Turns a client error into one line naming the fix where one is known. */
export function explain(err: unknown, opts: ConnectOptions): Error {
  if (err instanceof CliError) return err;
  const e = err as { name?: string; type?: string; message?: string; cause?: { message?: string } };
  const text = `${e.name ?? ''} ${e.message ?? ''} ${e.cause?.message ?? ''}`;
  if (/Connection|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|connect/i.test(text) && !e.type) return cannotReach(opts);
  return new CliError(e.type !== undefined ? `${e.type}: ${e.message}` : (e.message ?? String(err)));
}

/** Runs `fn` with a connected admin client, always disconnecting. */
export async function withAdmin<T>(opts: ConnectOptions, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaFor(opts).admin();
  try {
    await admin.connect();
    return await fn(admin);
  } catch (err) {
    throw explain(err, opts);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Fails with a CliError naming the next step unless `topic` exists. */
export async function requireTopic(admin: Admin, topic: string): Promise<void> {
  if (!(await admin.listTopics()).includes(topic)) {
    throw noSuchTopic(topic);
  }
}

/** A repeatable option's values, in order (commander calls it once per occurrence). */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Columns padded to their widest cell, as Kafka's tools print tables. */
export function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, String(cell).length); });
  return rows.map((row) => row.map((cell, i) => String(cell).padEnd(i === row.length - 1 ? 0 : widths[i]!))
    .join('  ')).join('\n');
}

/** Parses an integer option, refusing what is not one (usage error). */
export function intOption(name: string, value: string, min = Number.MIN_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new CliError(`${name}: expected an integer${min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ''}, got "${value}"`, 2);
  }
  return Number(value);
}

/** Parses an ISO-8601 date-time (or epoch milliseconds) into epoch milliseconds. */
export function timeOption(name: string, value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new CliError(`${name}: expected an ISO date-time such as 2026-12-04T10:00:00Z, got "${value}"`, 2);
  return ms;
}
