/**
 * The clients of the transaction kill run (txn-kill.ts): the feeder that produces numbered
 * records into the input topic, and the copier runner that keeps one Kafka
 * TransactionalMessageCopier per input partition running, restarting it with the same
 * transactional id when it exits, as Kafka's system tests do.
 */
import type { Kafka, Producer } from 'kafkajs';
import { type RunResult, runJava } from '../helpers/kafka-tools.js';
import { bounded } from '../cluster/chaos-bounds.js';

const COPIER = 'org.apache.kafka.tools.TransactionalMessageCopier';
const COPIER_OUTPUT_CHARS_MAX = 2 * 1024 * 1024;

export const INPUT = 'txn-kill-in';
export const OUTPUT = 'txn-kill-out';
export const GROUP = 'txn-kill-copiers';
export const INPUT_PARTITIONS = 2;
export const OUTPUT_PARTITIONS = 3;
/**
 * Records per copier transaction: small, so a copier spends its time in transactions (about 60
 * records a second here) rather than racing through its backlog and restarting its JVM.
 */
const TRANSACTION_RECORDS = 5;
const FILL_SEND_RECORDS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Produces numbered records into the input until stopped; a failed send's values are dropped. */
export class Feeder {
  readonly sent: string[] = [];
  private stopped = false;
  private next = [0, 0];
  private run: Promise<void> = Promise.resolve();

  constructor(private readonly kafka: Kafka, private readonly perSecond: number,
    private readonly log: (line: string) => void) {}

  /** Produces `perPartition` records into each input partition at once (the copiers' backlog). */
  async fill(perPartition: number): Promise<void> {
    const producer = await this.connect();
    try {
      for (let partition = 0; partition < INPUT_PARTITIONS; partition++) {
        for (let done = 0; done < perPartition; done += FILL_SEND_RECORDS) {
          const values = Array.from({ length: Math.min(FILL_SEND_RECORDS, perPartition - done) },
            () => `p${partition}-n${this.next[partition]!++}`);
          await producer.send({ topic: INPUT, acks: -1,
            messages: values.map((value) => ({ partition, value })) });
          this.sent.push(...values);
        }
      }
    } finally {
      await producer.disconnect();
    }
  }

  start(): void {
    this.run = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.run;
  }

  private async loop(): Promise<void> {
    const perSend = 10;
    let sends = 0;
    let producer: Producer | null = null;
    while (!this.stopped) {
      const partition = sends++ % INPUT_PARTITIONS;
      const values = Array.from({ length: perSend },
        () => `p${partition}-n${this.next[partition]!++}`);
      try {
        producer ??= await this.connect();
        await bounded('feed', producer.send({ topic: INPUT, acks: -1,
          messages: values.map((value) => ({ partition, value })) }), 60_000);
        this.sent.push(...values);
      } catch (err) {
        // In doubt: the values may be in the input or not; the oracle reads the input itself.
        this.log(`feeder: send failed (${String(err).slice(0, 120)}); new producer`);
        await bounded('disconnect', producer?.disconnect() ?? Promise.resolve(), 15_000)
          .catch(() => {});
        producer = null;
      }
      await sleep(1000 * perSend / this.perSecond);
    }
    await bounded('disconnect', producer?.disconnect() ?? Promise.resolve(), 15_000)
      .catch(() => {});
  }

  private async connect(): Promise<Producer> {
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1,
      retry: { retries: 30, maxRetryTime: 1000 } });
    await producer.connect();
    return producer;
  }
}

/** One copier per input partition, restarted with the same transactional id when it exits. */
export class Copier {
  /** Runs that ended with an error (fenced, timed out, ...); a run that copied up to the end
   * offset it saw at launch exits 0 and is started again too, while the feeder adds more. */
  failures = 0;
  runs = 0;
  aborted = 0;
  readonly exits: string[] = [];
  private readonly abort = new AbortController();
  private run: Promise<void> = Promise.resolve();
  private output = '';

  constructor(readonly transactionalId: string, private readonly partition: number,
    private readonly bootstrap: () => string, private readonly log: (line: string) => void) {}

  start(): void {
    this.run = this.loop();
  }

  /** Kills the running copier; returns its output (once: a second call returns ''). */
  async stop(): Promise<string> {
    this.abort.abort();
    await this.run;
    const output = this.output;
    this.output = '';
    return output;
  }

  private async loop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      const result = await runJava(COPIER, ['--broker-list', this.bootstrap(),
        '--transactional-id', this.transactionalId, '--consumer-group', GROUP,
        '--input-topic', INPUT, '--input-partition', `${this.partition}`,
        '--output-topic', OUTPUT, '--max-messages', '-1',
        '--transaction-size', `${TRANSACTION_RECORDS}`,
        '--transaction-timeout', '20000', '--enable-random-aborts', '--use-group-metadata'],
      { timeoutMs: 30 * 60_000, signal: this.abort.signal });
      this.aborted += abortsIn(result.stdout);
      this.output += `--- ${this.transactionalId} run ${this.runs}: ${how(result)}\n`
        + `${result.stdout.slice(-20_000)}\n${result.stderr.slice(-20_000)}\n`;
      this.output = this.output.slice(-COPIER_OUTPUT_CHARS_MAX);
      this.runs++;
      if (this.abort.signal.aborted) return;
      if (result.code === 0) {
        await sleep(500);
        continue;
      }
      this.failures++;
      const line = `${this.transactionalId} exited (${how(result)}): `
        + `${lastLine(result.stderr)}; restarting`;
      this.exits.push(line);
      this.log(line);
      await sleep(500);
    }
  }
}

function how(r: RunResult): string {
  return r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`;
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => /Exception|Error/.test(l));
  return (lines.at(-1) ?? text.trim().split('\n').at(-1) ?? '').slice(0, 300);
}

/** Transactions the copier aborted: a progress line whose total did not move on from the last. */
export function abortsIn(stdout: string): number {
  let aborts = 0;
  let last = 0;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let p: { stage?: string; totalProcessed?: number };
    try { p = JSON.parse(line) as typeof p; } catch { continue; }
    if (p.stage !== 'ProcessLoop' || p.totalProcessed === undefined) continue;
    if (p.totalProcessed > 0 && p.totalProcessed === last) aborts++;
    last = p.totalProcessed;
  }
  return aborts;
}

