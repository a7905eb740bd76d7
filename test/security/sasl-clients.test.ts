/**
 * Authentication with real clients against a broker process with all four listeners
 * (PLAINTEXT, SASL_PLAINTEXT, SASL_SSL, SSL with client certificates): kafkajs, kcat
 * (librdkafka) and Kafka's Java CLI tools log in with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512,
 * or a client certificate, produce and consume; kafka-configs.sh creates a SCRAM user who then
 * logs in; a wrong password fails for every mechanism, is logged once and counted. The principal
 * each connection gets is read back from the audit line of a topic it creates.
 */
import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN, ALICE, type Certificates, type KafkajsMechanism, type SecureBroker, javaClientProperties,
    kafkajsClient,
  makeCertificates, startSecureBroker,
} from '../helpers/security.js';
import { describeRun, javaAvailable, kafkaJars, runKafkaTool,
  type RunResult } from '../helpers/kafka-tools.js';

const execFileP = promisify(execFile);
const HAVE_JAVA = javaAvailable();
const TOOL_MS = 90_000;

let certs: Certificates;
let sb: SecureBroker;
let log = '';

beforeAll(async () => {
  certs = await makeCertificates();
  sb = await startSecureBroker(certs, {}, { onOutput: (chunk) => { log += chunk; } });
}, 120_000);
afterAll(async () => {
  await sb?.broker.destroy();
  await certs?.cleanup();
});

/** The audit lines' principal for a topic's creation. */
function creatorOf(topic: string): string | undefined {
  const line = log.split('\n').find((l) => l.includes('"audit":true') &&
    l.includes('CreateTopics') && l.includes(`"${topic}`));
  return line === undefined ? undefined : (JSON.parse(line) as { principal: string }).principal;
}

interface FailureLine {
  listener: string; mechanism: string; principal: string | null; reason: string;
}

function failureLines(): FailureLine[] {
  return log.split('\n').filter((l) => l.includes('"authentication":"failed"')).map((l) =>
    JSON.parse(l));
}

async function kafkajsRoundTrip(bootstrap: string, extra: Parameters<typeof kafkajsClient>[1],
  topic: string): Promise<void> {
  const kafka = kafkajsClient(bootstrap, extra);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [1, 2, 3].map((i) => ({ value: `v${i}` })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `${topic}-g` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed only ${seen.join(',')}`)), 30_000);
    void consumer.run({ eachMessage: async ({ message }) => {
      seen.push(message.value!.toString());
      if (seen.length === 3) { clearTimeout(timer); resolve(); }
    } });
  });
  await consumer.disconnect();
  expect(seen).toEqual(['v1', 'v2', 'v3']);
}

describe('kafkajs', () => {
  const tlsClient = () => ({ ca: [''], rejectUnauthorized: true });
  const cases: [string, 'SASL_PLAINTEXT' | 'SASL_SSL', KafkajsMechanism][] = [
    ['plain-sasl-plaintext', 'SASL_PLAINTEXT', 'plain'],
    ['scram512-sasl-plaintext', 'SASL_PLAINTEXT', 'scram-sha-512'],
    ['scram256-sasl-plaintext', 'SASL_PLAINTEXT', 'scram-sha-256'],
    ['scram512-sasl-ssl', 'SASL_SSL', 'scram-sha-512'],
    ['plain-sasl-ssl', 'SASL_SSL', 'plain'],
  ];
  it.each(cases)('%s: logs in as alice, produces and consumes', async (topic, listener,
    mechanism) => {
    const ca = await readFile(certs.caCert, 'utf8');
    await kafkajsRoundTrip(sb.address[listener], {
      sasl: { mechanism, username: ALICE.user, password: ALICE.password } as never,
      ...(listener === 'SASL_SSL' ? { ssl: { ...tlsClient(), ca: [ca] } } : {}),
    }, topic);
    expect(creatorOf(topic)).toBe('User:alice');
  }, 60_000);

  it('mTLS: the client certificate is the principal (mapped by ssl.principal.mapping.rules)',
    async () => {
    const [ca, key, cert] = await Promise.all([certs.caCert, certs.clientKey,
      certs.clientCert].map((f) => readFile(f, 'utf8')));
    await kafkajsRoundTrip(sb.address.SSL, { ssl: { ca: [ca!], key: key!, cert: cert!,
      rejectUnauthorized: true } }, 'mtls-kafkajs');
    expect(creatorOf('mtls-kafkajs')).toBe('User:alice');
  }, 60_000);

  it('PLAINTEXT stays anonymous', async () => {
    await kafkajsRoundTrip(sb.address.PLAINTEXT, {}, 'plaintext-kafkajs');
    expect(creatorOf('plaintext-kafkajs')).toBe('User:ANONYMOUS');
  }, 60_000);

  it.each(['plain', 'scram-sha-256',
    'scram-sha-512'] as const)('%s with a wrong password fails, logged once', async (mechanism) => {
    const before = failureLines().length;
    const admin = kafkajsClient(sb.address.SASL_PLAINTEXT, { sasl: { mechanism,
      username: ALICE.user, password: 'wrong' } as never }).admin();
    await expect(admin.connect()).rejects.toThrow(/SASL|authentication/i);
    await admin.disconnect();
    const upper = mechanism.toUpperCase();
    await expect.poll(() => failureLines().slice(before).filter((l) =>
      l.mechanism === upper)).toHaveLength(1);
    const line = failureLines().slice(before).find((l) => l.mechanism === upper)!;
    expect(line).toMatchObject({ listener: 'SASL_PLAINTEXT', principal: 'User:alice' });
  }, 30_000);
});

describe('kcat (librdkafka)', () => {
  const kcat = async (args: string[], input?: string): Promise<string> => {
    if (input === undefined) return (await execFileP('kcat', args, { timeout: 60_000 })).stdout;
    return new Promise((resolve, reject) => {
      const p = spawn('kcat', args);
      let out = '';
      let err = '';
      p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
      p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
      p.on('exit', (code) => (code === 0 ? resolve(out) :
        reject(new Error(`kcat exited ${code}: ${err}`))));
      p.stdin.end(input);
    });
  };
  const settingsFor = (listener: 'SASL_PLAINTEXT' | 'SASL_SSL' | 'SSL',
    mechanism?: string): string[] => [
    '-b', sb.address[listener], '-X', `security.protocol=${listener.toLowerCase()}`,
    ...(mechanism !== undefined ? ['-X', `sasl.mechanisms=${mechanism}`, '-X',
      `sasl.username=${ALICE.user}`, '-X', `sasl.password=${ALICE.password}`] : []),
    ...(listener !== 'SASL_PLAINTEXT' ? ['-X', `ssl.ca.location=${certs.caCert}`] : []),
    ...(listener === 'SSL' ? ['-X', `ssl.certificate.location=${certs.clientCert}`, '-X',
      `ssl.key.location=${certs.clientKey}`] : []),
  ];
  it.each([['SASL_SSL', 'SCRAM-SHA-512'], ['SASL_PLAINTEXT', 'PLAIN'], ['SSL',
    undefined]] as const)(
    '%s %s: produces and consumes', async (listener, mechanism) => {
      const topic = `kcat-${listener}-${mechanism ?? 'mtls'}`.toLowerCase();
      await kcat([...settingsFor(listener, mechanism), '-t', topic, '-P', '-X', 'acks=all'],
        'a\nb\nc\n');
      const out = await kcat([...settingsFor(listener, mechanism), '-t', topic, '-C', '-o',
        'beginning', '-e', '-q']);
      expect(out.trim().split('\n')).toEqual(['a', 'b', 'c']);
    }, 90_000);
});

describe.skipIf(!HAVE_JAVA)('Java client and CLI tools', () => {
  let files: Record<string, string>;
  beforeAll(async () => {
    await kafkaJars();
    const write = async (name: string, text: string) => {
      const file = path.join(certs.dir, name);
      await writeFile(file, text);
      return file;
    };
    files = {
      admin: await write('admin.properties', javaClientProperties('SASL_SSL', certs,
        { mechanism: 'SCRAM-SHA-512', ...ADMIN })),
      bobScram: await write('bob-scram.properties', javaClientProperties('SASL_SSL', certs,
        { mechanism: 'SCRAM-SHA-512', user: 'bob', password: 'bob-secret' })),
      bobPlain: await write('bob-plain.properties', javaClientProperties('SASL_PLAINTEXT', certs,
        { mechanism: 'PLAIN', user: 'bob', password: 'bob-secret' })),
      mtls: await write('mtls.properties', javaClientProperties('SSL', certs)),
    };
  }, 600_000);

  const expectOk = (r: RunResult): RunResult => {
    if (r.code !== 0) throw new Error(describeRun(r, log.slice(-6000)));
    return r;
  };

  it('kafka-configs.sh creates a SCRAM user, who then logs in with SCRAM-SHA-512 and PLAIN',
    async () => {
    expectOk(await runKafkaTool('configs', ['--bootstrap-server', sb.address.SASL_SSL,
      '--command-config', files.admin!,
      '--alter', '--add-config', 'SCRAM-SHA-512=[iterations=8192,password=bob-secret]',
        '--entity-type', 'users', '--entity-name', 'bob'],
    { timeoutMs: TOOL_MS }));
    // (kafka-configs.sh --describe --entity-type users also asks DescribeClientQuotas, which is
    // the quotas work's: DescribeUserScramCredentials is checked in scram-admin.test.ts.)
    const topic = 'java-sasl';
    expectOk(await runKafkaTool('topics', ['--bootstrap-server', sb.address.SASL_SSL,
      '--command-config', files.bobScram!,
      '--create', '--topic', topic, '--partitions', '1'], { timeoutMs: TOOL_MS }));
    expect(creatorOf(topic)).toBe('User:bob');
    expectOk(await runKafkaTool('consoleProducer', ['--bootstrap-server', sb.address.SASL_SSL,
      '--topic', topic,
      '--command-config', files.bobScram!, '--command-property', 'acks=all'], { timeoutMs: TOOL_MS,
        input: 'one\ntwo\n' }));
    const consumed = expectOk(await runKafkaTool('consoleConsumer', ['--bootstrap-server',
      sb.address.SASL_PLAINTEXT,
      '--topic', topic, '--command-config', files.bobPlain!, '--from-beginning', '--max-messages',
        '2', '--timeout-ms', '30000'],
    { timeoutMs: TOOL_MS }));
    expect(consumed.stdout.trim().split('\n')).toEqual(['one', 'two']);
  }, 240_000);

  it('a client certificate (mTLS) produces and consumes', async () => {
    const topic = 'java-mtls';
    expectOk(await runKafkaTool('consoleProducer', ['--bootstrap-server', sb.address.SSL, '--topic',
      topic,
      '--command-config', files.mtls!, '--command-property', 'acks=all'], { timeoutMs: TOOL_MS,
        input: 'x\ny\n' }));
    const consumed = expectOk(await runKafkaTool('consoleConsumer', ['--bootstrap-server',
      sb.address.SSL,
      '--topic', topic, '--command-config', files.mtls!, '--from-beginning', '--max-messages', '2',
        '--timeout-ms', '30000'],
    { timeoutMs: TOOL_MS }));
    expect(consumed.stdout.trim().split('\n')).toEqual(['x', 'y']);
  }, 180_000);

  it('a wrong SCRAM password is refused with Kafka\'s message', async () => {
    const wrong = path.join(certs.dir, 'wrong.properties');
    await writeFile(wrong, javaClientProperties('SASL_SSL', certs, { mechanism: 'SCRAM-SHA-512',
      user: 'bob', password: 'nope' }));
    const r = await runKafkaTool('topics', ['--bootstrap-server', sb.address.SASL_SSL,
      '--command-config', wrong, '--list'],
      { timeoutMs: TOOL_MS });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/invalid credentials with SASL mechanism SCRAM-SHA-512/);
  }, 120_000);
});
