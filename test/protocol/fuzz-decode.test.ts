/**
 * Hostile bytes against every generated decoder (each API, each version, requests and responses)
 * and the frame decoders: nothing but ProtocolDecodeError may escape, no decode may be slow, and
 * no length prefix may be believed before the bytes behind it are there. The cases are fixed by
 * FUZZ_SEED so a failure reproduces; `npm run fuzz` runs the same cases for longer with new seeds.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeRequestFrame, encodeRequestFrame } from '../../protocol/frame.js';
import { ApiKey } from '../../protocol/generated/api-keys.js';
import { decodeFetchRequest } from '../../protocol/generated/messages/fetch.js';
import { decodeProduceRequest } from '../../protocol/generated/messages/produce.js';
import { API_CODECS } from '../../protocol/generated/registry.js';
import { ProtocolDecodeError } from '../../protocol/primitives/errors.js';
import type { Reader } from '../../protocol/primitives/reader.js';
import type { Writer } from '../../protocol/primitives/writer.js';
import {
  type FuzzFailure, type Seed, SLOW_CASE_MS, allTargets, buildCorpus, formatFailure, runCase, runFuzz,
  runLengthLies, runNoise, timed,
} from './fuzz-cases.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
/** Mutated cases; about 3 s on the 2-core CI box. */
const CASES = Number(process.env.FUZZ_CASES ?? 300_000);
const NOISE_PER_TARGET = 20;

/** The first few failures, readable in the assertion diff. */
function report(failures: FuzzFailure[]): string[] {
  return failures.slice(0, 5).map(formatFailure);
}

describe('decoders fail only with ProtocolDecodeError', () => {
  let corpus: Seed[];

  beforeAll(async () => {
    corpus = await buildCorpus({ seed: SEED, messagesPerTarget: 4 });
  });

  it('the harness itself reports foreign errors and slow decodes', () => {
    // Without this, a harness that swallowed everything would pass every run below.
    const seed = corpus[0]!;
    const fake = (decode: (r: Reader, v: number) => unknown): Seed => ({
      ...seed, target: { ...seed.target, codec: { ...seed.target.codec, decodeRequest: decode, decodeResponse: decode } },
    });
    const base = { input: Buffer.from([1, 2, 3]), mode: 'body' as const, version: seed.target.version, how: 'test' };
    const typeError = runCase({ ...base, seed: fake(() => { throw new TypeError('boom'); }) });
    expect(typeError).toMatchObject({ error: expect.stringContaining('TypeError: boom') });
    const slow = runCase({ ...base, seed: fake(() => { const end = Date.now() + SLOW_CASE_MS + 20; while (Date.now() < end); }) });
    expect(slow).toMatchObject({ error: expect.stringContaining('decode took') });
    expect(runCase({ ...base, seed: fake(() => ({})) })).toBe('decoded');
  });

  it('corpus holds every API, version and direction', () => {
    const names = new Set(corpus.map((s) => `${s.target.codec.apiKey}/${s.target.version}/${s.target.direction}`));
    expect(names.size).toBe(allTargets().length);
  });

  it(`${CASES} mutated bodies and frames (bit flips, lying lengths, truncation, splices)`, () => {
    const stats = runFuzz({ corpus, seed: SEED, maxCases: CASES, maxMs: 20_000 });
    expect(report(stats.failures)).toEqual([]);
    // A run that stopped early, never decoded or never rejected would test little.
    expect(stats.cases).toBe(CASES);
    expect(stats.decoded).toBeGreaterThan(CASES / 20);
    expect(stats.rejected).toBeGreaterThan(CASES / 2);
    expect([...stats.perApi.keys()].sort()).toEqual([...API_CODECS.values()].map((c) => c.name).sort());
  });

  it('random bytes to every decoder and behind every frame header', () => {
    const { cases, failures } = runNoise(allTargets(), SEED, NOISE_PER_TARGET);
    expect(report(failures)).toEqual([]);
    expect(cases).toBe(allTargets().length * NOISE_PER_TARGET * 2);
  });

  it('every count and length prefix claiming ~2 GB is refused at the prefix, fast', () => {
    const stats = runLengthLies(corpus);
    expect(report(stats.failures)).toEqual([]);
    expect(stats.cases).toBeGreaterThan(10_000);
    expect(stats.slowestMs).toBeLessThan(SLOW_CASE_MS);
  });
});

describe('frames that claim 2 GB', () => {
  /** A request frame (size prefix removed) whose body is written field by field. */
  function frame(apiKey: number, version: number, body: (w: Writer) => void): Buffer {
    return encodeRequestFrame(apiKey, version, 1, 'fuzz', body).subarray(4);
  }

  const cases: { name: string; frame: Buffer; decode: (r: Reader, v: number) => unknown; field: string }[] = [
    {
      name: 'Produce v3 with 2^31-1 topics',
      frame: frame(ApiKey.Produce, 3, (w) => {
        w.nullableString(null);
        w.int16(-1);
        w.int32(30_000);
        w.int32(0x7fffffff);
        w.string('orders');
      }),
      decode: decodeProduceRequest,
      field: 'ProduceRequest.topicData',
    },
    {
      name: 'Produce v7 with a 2 GB record set',
      frame: frame(ApiKey.Produce, 7, (w) => {
        w.nullableString(null);
        w.int16(1);
        w.int32(30_000);
        w.int32(1);
        w.string('orders');
        w.int32(1);
        w.int32(0);
        w.int32(0x7fffffff);
        w.raw(Buffer.alloc(61));
      }),
      decode: decodeProduceRequest,
      field: 'ProduceRequest.PartitionProduceData.records',
    },
    {
      name: 'Fetch v12 (compact) with 2^32-2 topics',
      frame: frame(ApiKey.Fetch, 12, (w) => {
        for (const v of [-1, 500, 1, 52_428_800]) w.int32(v);
        w.int8(0);
        w.int32(0);
        w.int32(-1);
        w.uvarint(0xffffffff);
      }),
      decode: decodeFetchRequest,
      field: 'FetchRequest.topics',
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const { result: thrown, ms } = timed(() => {
        const { header, body } = decodeRequestFrame(c.frame);
        try {
          c.decode(body, header.requestApiVersion);
        } catch (e) {
          return e;
        }
        return undefined;
      });
      expect(thrown).toBeInstanceOf(ProtocolDecodeError);
      expect((thrown as ProtocolDecodeError).field).toBe(c.field);
      expect(ms).toBeLessThan(SLOW_CASE_MS);
    });
  }
});
