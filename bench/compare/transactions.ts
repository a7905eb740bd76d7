/**
 * The transactional produce scenario of the side-by-side benchmark (issue 11): one Java producer
 * with a transactional id (TransactionalProducer.java, compiled against the Kafka client on first
 * use) runs transactions of --txn-records records (100) back to back for --txn-s seconds into a
 * fresh 16-partition topic, on the systems --txn-systems names, after their other workloads.
 * Figures: commit latency p50/p99/max (commitTransaction() to its return: the flush of the
 * transaction's records, EndTxn and the markers), records/s and MB/s over the measured window,
 * and the broker's CPU and memory as for every other run.
 */
import path from 'node:path';
import { compileJava, describeRun } from '../../test/helpers/kafka-tools.js';
import { runTool } from './java-perf.js';
import { type BrokerUse, brokerUse, metered, type Step } from './workloads.js';

export interface TxnSettings {
  /** Seconds of back-to-back transactions (after the client's warm-up transactions). */
  txnS: number;
  /** Records per transaction. */
  txnRecords: number;
}

export const TXN_DEFAULTS: TxnSettings = { txnS: 10, txnRecords: 100 };
export const TXN_LIMITS: Record<keyof TxnSettings, [number, number]> =
  { txnS: [1, 600], txnRecords: [1, 100_000] };

export interface TxnResult {
  transactions: number;
  records: number;
  recordsPerS: number;
  /** 10^6 bytes of record values per second. */
  mbPerS: number;
  commitP50Ms: number;
  commitP99Ms: number;
  commitMaxMs: number;
}

export type TxnRun = TxnResult & BrokerUse;

const PROGRAM = 'TransactionalProducer';
const PARTITIONS = 16;
// "summary TRANSACTIONS RECORDS ELAPSED_MS COMMIT_P50_MS COMMIT_P99_MS COMMIT_MAX_MS"
const SUMMARY = /^summary (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)$/m;

async function transactionalProduce(bootstrap: string, topic: string,
  s: TxnSettings & { recordBytes: number }): Promise<TxnResult> {
  const classes = await compileJava([path.join(import.meta.dirname, `${PROGRAM}.java`)]);
  const r = await runTool(PROGRAM, [bootstrap, topic, String(s.txnRecords), String(s.recordBytes),
    String(s.txnS * 1000), `${topic}-producer`], [classes]);
  const m = SUMMARY.exec(r.stdout);
  if (!m) throw new Error(`${PROGRAM} printed no summary:\n${describeRun(r)}`);
  const [transactions, records, elapsedMs, p50, p99, max] = m.slice(1).map(Number) as
    [number, number, number, number, number, number];
  if (records !== transactions * s.txnRecords || !(elapsedMs > 0)) {
    throw new Error(`${PROGRAM} summary does not add up:\n${describeRun(r)}`);
  }
  const recordsPerS = records / (elapsedMs / 1000);
  return { transactions, records, recordsPerS, mbPerS: (recordsPerS * s.recordBytes) / 1e6,
    commitP50Ms: p50, commitP99Ms: p99, commitMaxMs: max };
}

export async function txnRun(st: Step): Promise<TxnRun> {
  const { system, s } = st;
  const topic = st.topic('txn');
  await system.createTopic(topic, PARTITIONS);
  st.log(`${system.id}: transactional produce, ${s.txnRecords} records per transaction, ` +
    `${s.txnS} s`);
  const m = await metered(system, st.profiles, 'transactional produce',
    () => transactionalProduce(system.bootstrap, topic, s));
  return { ...m.result, ...brokerUse(m, m.result.records * s.recordBytes) };
}
