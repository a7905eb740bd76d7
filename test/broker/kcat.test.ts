/**
 * kcat (librdkafka, from Debian) against a real broker process on both object store engines:
 * produce with each compression codec, consume everything back in order, and consume in a
 * group with committed offsets.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYMENTS, type Deployment } from '../helpers/deployments.js';

const run = promisify(execFile);
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** Pipes `lines` into `kcat -P`; resolves when kcat exits 0 (it waits for every ack). */
function kcatProduce(bootstrap: string, topic: string, codec: string, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('kcat', ['-b', bootstrap, '-t', topic, '-P', '-z', codec, '-X', 'acks=all',
      '-X', 'enable.idempotence=true', '-K', ':'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kcat -P exited ${code}: ${err}`))));
    p.stdin.end(lines.map((l) => `${l}\n`).join(''));
  });
}

async function kcatConsume(bootstrap: string, topic: string): Promise<{ offset: number; key: string; value: string }[]> {
  const { stdout, stderr } = await run('kcat', ['-b', bootstrap, '-t', topic, '-C', '-o', 'beginning', '-e',
    '-f', '%p %o %k %s\n'], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
  if (stderr.length > 10_000) console.log(`kcat -C stderr (${stderr.length} bytes): ${stderr.slice(0, 600)}`);
  return stdout.trim().split('\n').filter((l) => l !== '').map((l) => {
    const [, offset, key, value] = l.split(' ');
    return { offset: Number(offset), key: key!, value: value! };
  });
}

describe.each(DEPLOYMENTS)('kcat against a broker on $name', (variant) => {
  let broker: Deployment;

  beforeAll(async () => {
    broker = await variant.start({ uploadIntervalMs: 100 });
  });
  afterAll(async () => {
    await broker?.destroy();
  });

  for (const codec of CODECS) {
    it(`produces with ${codec} and consumes every record back in order`, async () => {
      const topic = `kcat-${codec}`;
      const lines = Array.from({ length: 200 }, (_, i) => `key${i % 7}:value-${codec}-${i}`);
      await kcatProduce(broker.bootstrap, topic, codec, lines);
      const records = await kcatConsume(broker.bootstrap, topic);
      expect(records.map((r) => `${r.key}:${r.value}`)).toEqual(lines);
      expect(records.map((r) => r.offset)).toEqual(lines.map((_, i) => i));
    });
  }

  it('consumes in a group and resumes from the committed offsets', async () => {
    const topic = 'kcat-group';
    await kcatProduce(broker.bootstrap, topic, 'lz4', Array.from({ length: 50 }, (_, i) => `k:first-${i}`));
    const groupRead = async () => {
      // -G: balanced consumer group; auto-commit at exit; -e stops at the end of the partition.
      const { stdout } = await run('kcat', ['-b', broker.bootstrap, '-G', 'kcat-readers', topic,
        '-X', 'auto.offset.reset=earliest', '-e', '-f', '%s\n'], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
      return stdout.trim().split('\n').filter((l) => l !== '');
    };
    expect(await groupRead()).toHaveLength(50);
    await kcatProduce(broker.bootstrap, topic, 'zstd', ['k:second']);
    expect(await groupRead()).toEqual(['second']);
  });
});
