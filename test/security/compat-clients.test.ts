/**
 * franz-go and confluent-kafka-python (librdkafka) over SASL_SSL with SCRAM-SHA-512, SASL_PLAINTEXT
 * with PLAIN and mTLS: each produces with acks=all and consumes in a group, through the same
 * compatibility programs as test/compat/ (security settings from the environment). Skipped per
 * client when it is not installed, as there.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../helpers/compat-steps.js';
import { HAVE_GO, buildFranz } from '../helpers/franz-build.js';
import { ALICE, type Certificates, type SecureBroker, makeCertificates,
  startSecureBroker } from '../helpers/security.js';

const PYTHON_SCRIPT = path.resolve(import.meta.dirname, '../compat/python/compat.py');
const PYTHON = [process.env.LEDGERSTREAM_PYTHON, '/usr/bin/python3', 'python3'].find((p) =>
  p !== undefined
  && spawnSync(p, [PYTHON_SCRIPT, 'version'], { timeout: 30_000 }).status === 0);
const COUNT = 20;

let certs: Certificates;
let sb: SecureBroker;

beforeAll(async () => {
  certs = await makeCertificates();
  sb = await startSecureBroker(certs);
}, 120_000);
afterAll(async () => {
  await sb?.broker.destroy();
  await certs?.cleanup();
});

type Listener = 'SASL_SSL' | 'SASL_PLAINTEXT' | 'SSL';
const CASES: [Listener, string | null][] = [['SASL_SSL', 'SCRAM-SHA-512'], ['SASL_PLAINTEXT',
  'PLAIN'], ['SSL', null]];

async function step<T>(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  const r = await runCommand(cmd, args, { timeoutMs: 90_000, env });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ` +
    `${r.stderr.slice(-3000)}\n${sb.broker.output().slice(-3000)}`);
  return JSON.parse(r.stdout) as T;
}

interface Produced { delivered: { err?: string }[] }
interface Consumed { records: { v: string }[] }

function expectRoundTrip(produced: Produced, consumed: Consumed): void {
  expect(produced.delivered).toHaveLength(COUNT);
  expect(produced.delivered.filter((d) => d.err !== undefined && d.err !== '')).toEqual([]);
  expect(consumed.records).toHaveLength(COUNT);
}

describe.skipIf(!HAVE_GO)('franz-go', () => {
  let bin: string;
  beforeAll(async () => { bin = await buildFranz(); }, 330_000);

  it.each(CASES)('%s %s: produces and consumes', async (listener, mechanism) => {
    const env: NodeJS.ProcessEnv = {
      ...(listener !== 'SASL_PLAINTEXT' ? { COMPAT_FRANZ_TLS_CA: certs.caCert } : {}),
      ...(listener === 'SSL' ? { COMPAT_FRANZ_TLS_CERT: certs.clientCert,
        COMPAT_FRANZ_TLS_KEY: certs.clientKey } : {}),
      ...(mechanism !== null ?
        { COMPAT_FRANZ_SASL: `${mechanism}:${ALICE.user}:${ALICE.password}` } : {}),
    };
    const topic = `franz-${listener}`.toLowerCase();
    await step(bin, ['admin', sb.address[listener], topic, '1'],
      env); // kgo does not auto-create topics
    const produced = await step<Produced>(bin, ['produce', sb.address[listener], topic, '1', 'none',
      String(COUNT)], env);
    const consumed = await step<Consumed>(bin, ['consume', sb.address[listener], topic,
      `${topic}-g`, String(COUNT)], env);
    expectRoundTrip(produced, consumed);
  }, 120_000);
});

describe.skipIf(PYTHON === undefined)('confluent-kafka-python', () => {
  it.each(CASES)('%s %s: produces and consumes', async (listener, mechanism) => {
    const settings: Record<string, string> = {
      'security.protocol': listener.toLowerCase(),
      ...(listener !== 'SASL_PLAINTEXT' ? { 'ssl.ca.location': certs.caCert } : {}),
      ...(listener === 'SSL' ? { 'ssl.certificate.location': certs.clientCert,
        'ssl.key.location': certs.clientKey } : {}),
      ...(mechanism !== null ? { 'sasl.mechanisms': mechanism, 'sasl.username': ALICE.user,
        'sasl.password': ALICE.password } : {}),
    };
    const env = { COMPAT_PYTHON_SECURITY: JSON.stringify(settings) };
    const topic = `python-${listener}`.toLowerCase();
    const produced = await step<Produced>(PYTHON!, [PYTHON_SCRIPT, 'produce', sb.address[listener],
      topic, '1', 'none', String(COUNT)], env);
    const consumed = await step<Consumed>(PYTHON!, [PYTHON_SCRIPT, 'consume', sb.address[listener],
      topic, `${topic}-g`, String(COUNT)], env);
    expectRoundTrip(produced, consumed);
  }, 120_000);
});
