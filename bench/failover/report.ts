/** The failover benchmark's table: per client and signal, p50/p99/max of each part. */

export interface KillRecord {
  signal: 'kill' | 'term';
  client: string;
  kill: number;
  victim: number;
  partition: number;
  /** Longest time without an acknowledgement on this partition, 1 s before the kill to the
   *  restart. */
  unavailableMs: number;
  /** When that longest gap began, from the kill (negative: before it; a later gap shows late). */
  gapStartMs: number;
  /** Kill → the controller saw the broker gone. */
  detectionMs: number | null;
  /** Kill → the partition given to another broker (or handed off by the victim). */
  reassignedMs: number | null;
  /** Kill → opened on its new leader (after WAL replay and index commit). */
  openedMs: number | null;
  /** Opened → the client's first acknowledgement on the partition at or after it. */
  clientMs: number | null;
  openedOn: number | null;
  /** The new leader's replay of the victim's WAL (part of `openedMs`): open (segments
   *  validated), read, commits; null when it replayed nothing (a handoff, object mode). */
  replay: { totalMs: number; walOpenMs: number; walReadMs: number; commitMs: number;
    walEntries: number; walBytes: ReplayWalBytes | null } | null;
  /** After the restart: the longest gap on any partition of this client's topic. */
  returnGapMs: number;
  /** Kill → the restarted victim joined the cluster again. */
  rejoinedMs: number | null;
  /** The consumer's longest time without a delivery on this partition, 1 s before the kill to
   *  the restart. */
  consumeGapMs: number | null;
  /** The oldest a record produced in that window was when the consumer got it. */
  deliveredLateMs: number | null;
}

/** The WAL bytes of one replay (logged by brokers that start at the upload checkpoint). */
export interface ReplayWalBytes {
  /** Scanned from the start position on. */
  read: number;
  /** Before the start position: already uploaded, not read (read + skipped: a full read). */
  skipped: number;
  /** Batches beyond the index: what the replay had to recover. */
  recovered: number;
}

/** Nearest-rank percentile; null for no values. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

const ms = (v: number | null) => (v === null ? '-' : (v / 1000).toFixed(2));

function summary(values: readonly (number | null)[]): string {
  const known = values.filter((v): v is number => v !== null);
  if (known.length === 0) return '-';
  return `${ms(percentile(known, 50))} / ${ms(percentile(known, 99))} / ${ms(Math.max(...known))}`;
}

const HEADER = [
  'Seconds, p50 / p99 / max over every (kill, partition the victim led). Unavailable: the longest',
  'time without an acknowledgement on the partition from 1 s before the kill to the restart.',
  'Detection, reassigned and opened count from the kill; client from the opening to the first',
  'acknowledgement. Replay: the new leader\'s replay of the victim\'s WAL, part of opened (WAL',
  'read: opening and reading the WAL, the rest is commits). Rejoined: from the kill until the',
  'restarted broker joined again. Return: after the restart, the longest gap on any partition.', '',
  '| signal | client | kills | partitions | unavailable | detection | reassigned | opened ' +
    '| replay | WAL read | client | rejoined | return |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|'];

const CONSUMER_HEADER = [
  'The consumers (a group per topic, read by the client that writes it): seconds, p50 / p99 / max.',
  'Consume gap: the longest time without a delivery on the partition, 1 s before the kill to the',
  'restart. Delivered late: the oldest a record produced in that window was when the consumer got',
  'it. (A kafkajs consumer whose group coordinator is killed retries its heartbeat to the dead',
  'broker until its retries run out, ~10-20 s, then restarts and finds the new coordinator: the',
  'Java client and librdkafka look the coordinator up again at once.)', '',
  '| signal | producer topic | consume gap | delivered late |', '|---|---|---|---|'];

function producerRow(signal: string, client: string, rs: readonly KillRecord[]): string {
  const kills = new Set(rs.map((r) => r.kill)).size;
  const returns = [...new Map(rs.map((r) => [r.kill, r.returnGapMs])).values()];
  const cells = [`SIG${signal.toUpperCase()}`, client, String(kills), String(rs.length),
    summary(rs.map((r) => r.unavailableMs)), summary(rs.map((r) => r.detectionMs)),
    summary(rs.map((r) => r.reassignedMs)), summary(rs.map((r) => r.openedMs)),
    summary(rs.map((r) => r.replay?.totalMs ?? null)),
    summary(rs.map((r) => (r.replay === null ? null : r.replay.walOpenMs + r.replay.walReadMs))),
    summary(rs.map((r) => r.clientMs)), summary(rs.map((r) => r.rejoinedMs)), summary(returns)];
  return `| ${cells.join(' | ')} |`;
}

const mib = (v: number | null) => (v === null ? '-' : (v / 2 ** 20).toFixed(2));

/** One line on the WAL bytes the replays read, skipped and recovered (none from older brokers). */
function walBytesLine(records: readonly KillRecord[]): string {
  const all = records.flatMap((r) => (r.replay?.walBytes == null ? [] : [r.replay.walBytes]));
  if (all.length === 0) return 'WAL bytes per replay: not logged by these brokers.';
  const cell = (values: number[]) => `${mib(percentile(values, 50))} / ` +
    `${mib(percentile(values, 99))} / ${mib(Math.max(...values))}`;
  return `WAL MiB per replay (${all.length} replays), p50 / p99 / max: read ` +
    `${cell(all.map((b) => b.read))}; skipped (before the upload checkpoint) ` +
    `${cell(all.map((b) => b.skipped))}; recovered (beyond the index) ` +
    `${cell(all.map((b) => b.recovered))}.`;
}

function consumerRow(signal: string, client: string, rs: readonly KillRecord[]): string {
  const cells = [`SIG${signal.toUpperCase()}`, client, summary(rs.map((r) => r.consumeGapMs)),
    summary(rs.map((r) => r.deliveredLateMs))];
  return `| ${cells.join(' | ')} |`;
}

export function renderReport(records: readonly KillRecord[], settings: Record<string, unknown>,
  acked: Record<string, unknown>, lost: readonly string[]): string {
  const groups = new Map<string, KillRecord[]>();
  for (const r of records) {
    const key = `${r.signal} ${r.client}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows = (row: typeof producerRow) => [...groups].map(([key, rs]) => {
    const [signal, client] = key.split(' ');
    return row(signal!, client!, rs);
  });
  const readBack = lost.length === 0
    ? 'Read back: nothing acknowledged was lost, nothing duplicated or reordered (every ' +
      'partition read to its high watermark).'
    : `READ BACK FAILED: ${lost.join('; ')}`;
  return [`# Failover as clients see it (${new Date().toISOString()})`, '',
    `Settings: ${JSON.stringify(settings)}`, '', ...HEADER, ...rows(producerRow), '',
    walBytesLine(records), '',
    ...CONSUMER_HEADER, ...rows(consumerRow), '',
    `Acknowledged: ${JSON.stringify(acked)}`, '', readBack, ''].join('\n');
}
