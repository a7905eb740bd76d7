/**
 * Fuzzing of the protocol decoders, shared by the CI test (fuzz-decode.test.ts) and the long
 * standalone run (fuzz-long.ts).
 *
 * The one property: whatever bytes arrive, a decoder returns or throws ProtocolDecodeError. A
 * RangeError, TypeError or anything else escaping is a bug (the broker would drop the connection
 * with a stack trace instead of answering), and so is a decode slow enough to look like a hang.
 *
 * Inputs are mostly mutations of valid encodings, because random bytes die in the first few
 * fields: a corpus of fast-check-generated messages for every API, version and direction is
 * encoded with a Writer that records where each length prefix went, so mutations can aim at
 * exactly the fields a hostile client would lie about (array counts, string and byte lengths,
 * tagged-field counts and sizes).
 */
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { decodeRequestFrame, decodeResponseFrame, encodeRequestFrame, encodeResponseFrame }
  from '../../protocol/frame.js';
import { API_CODECS, type ApiCodec } from '../../protocol/generated/registry.js';
import { ProtocolDecodeError } from '../../protocol/primitives/errors.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';
import type { MessageSpec } from '../../protocol/codegen/spec.js';
import { MessageArbitraries, loadSpecs } from './spec-arbitrary.js';
import { kebab } from '../../protocol/codegen/main.js';

export type Direction = 'request' | 'response';

/** A decoder under test: one API, one version, one direction. */
export interface Target {
  codec: ApiCodec;
  version: number;
  direction: Direction;
}

export function targetName(t: Target): string {
  return `${t.codec.name}${t.direction === 'request' ? 'Request' : 'Response'} v${t.version}`;
}

function decoderOf(t: Target): (r: Reader, version: number) => unknown {
  return t.direction === 'request' ? t.codec.decodeRequest : t.codec.decodeResponse;
}

/** Where the encoder wrote a length-like prefix, and in which encoding. */
export interface LengthField {
  offset: number;
  width: 'int16' | 'int32' | 'uvarint';
  /** Byte size of the prefix as written (varints vary). */
  size: number;
  /**
   * 'count' and 'length' prefix something that must fit in the rest of the frame; 'varint' is
   * any other unsigned varint (tag numbers, tag sizes), worth lying about but not bound to fail.
   */
  role: 'count' | 'length' | 'varint';
}

/**
 * A Writer that notes where each length prefix starts. It relies only on the Writer's public
 * methods, which the generated encoders call on whatever Writer they are given.
 */
class RecordingWriter extends Writer {
  readonly fields = new Map<number, LengthField>();

  private note(width: LengthField['width'], role: LengthField['role'], size: number): void {
    // The first note at an offset is the most specific (compactString before its uvarint).
    if (!this.fields.has(this.length)) this.fields.set(this.length, { offset: this.length, width, size, role });
  }

  override arrayLength(n: number): void {
    this.note('int32', 'count', 4);
    super.arrayLength(n);
  }

  override compactArrayLength(n: number): void {
    this.note('uvarint', 'count', uvarintBytes(n + 1));
    super.compactArrayLength(n);
  }

  override string(v: string): void {
    this.note('int16', 'length', 2);
    super.string(v);
  }

  override nullableString(v: string | null): void {
    this.note('int16', 'length', 2);
    super.nullableString(v);
  }

  override compactString(v: string): void {
    this.note('uvarint', 'length', uvarintBytes(Buffer.byteLength(v) + 1));
    super.compactString(v);
  }

  override compactNullableString(v: string | null): void {
    this.note('uvarint', 'length', uvarintBytes(v === null ? 0 : Buffer.byteLength(v) + 1));
    super.compactNullableString(v);
  }

  override bytes(v: Buffer): void {
    this.note('int32', 'length', 4);
    super.bytes(v);
  }

  override nullableBytes(v: Buffer | null): void {
    this.note('int32', 'length', 4);
    super.nullableBytes(v);
  }

  override compactBytes(v: Buffer): void {
    this.note('uvarint', 'length', uvarintBytes(v.length + 1));
    super.compactBytes(v);
  }

  override compactNullableBytes(v: Buffer | null): void {
    this.note('uvarint', 'length', uvarintBytes(v === null ? 0 : v.length + 1));
    super.compactNullableBytes(v);
  }

  override uvarint(v: number): void {
    // Tagged-field sections are written as uvarints: their count comes first, then each tag's
    // number and size. None of them is bound to fail when huge (an unknown tag is legal).
    this.note('uvarint', 'varint', uvarintBytes(v));
    super.uvarint(v);
  }
}

export function uvarintBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

export function encodeUvarint(v: number): Buffer {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** One valid encoding of a message: the body alone and inside a frame (size prefix removed). */
export interface Seed {
  target: Target;
  body: Buffer;
  lengths: LengthField[];
  frame: Buffer;
  /** Where the body starts in `frame`. */
  bodyStart: number;
}


type MessageModule = Record<string, unknown>;

async function loadModule(api: string): Promise<MessageModule> {
  // A plain string, not a template literal: Vite rewrites template-literal imports into globs
  // that do not map `.js` to the `.ts` sources; tsx and vitest both resolve this form.
  const file = '../../protocol/generated/messages/' + kebab(api) + '.js';
  return (await import(file)) as MessageModule;
}

/** Every API in the registry, both directions, every version it supports. */
export function allTargets(): Target[] {
  const out: Target[] = [];
  for (const codec of API_CODECS.values()) {
    for (let version = codec.minVersion; version <= codec.maxVersion; version++) {
      out.push({ codec, version, direction: 'request' }, { codec, version, direction: 'response' });
    }
  }
  return out;
}

export interface CorpusOptions {
  seed: number;
  /** fast-check messages per target, on top of the all-defaults message. */
  messagesPerTarget: number;
}

/** Valid encodings of every target: the default message plus random ones. */
export async function buildCorpus(options: CorpusOptions): Promise<Seed[]> {
  const specs = new Map<string, MessageSpec>(loadSpecs().map((s) => [s.name, s]));
  const seeds: Seed[] = [];
  let seedOffset = 0;
  for (const codec of API_CODECS.values()) {
    const mod = await loadModule(codec.name);
    for (const direction of ['request', 'response'] as const) {
      const name = `${codec.name}${direction === 'request' ? 'Request' : 'Response'}`;
      const spec = specs.get(name);
      if (spec === undefined) throw new Error(`no spec for ${name}`);
      const makeDefault = mod[`default${name}`] as () => unknown;
      const arbs = new MessageArbitraries(spec, mod as never);
      for (let version = codec.minVersion; version <= codec.maxVersion; version++) {
        const target: Target = { codec, version, direction };
        const messages = [makeDefault(), ...fc.sample(arbs.message(version),
          { seed: options.seed + seedOffset++, numRuns: options.messagesPerTarget })];
        for (const message of messages) seeds.push(encodeSeed(target, message));
      }
    }
  }
  return seeds;
}

function encodeSeed(target: Target, message: unknown): Seed {
  const { codec, version, direction } = target;
  const encode = (w: Writer) => (direction === 'request' ? codec.encodeRequest : codec.encodeResponse)(
    w, version, message as never);
  const w = new RecordingWriter();
  encode(w);
  const body = w.toBuffer();
  const sized = direction === 'request'
    ? encodeRequestFrame(codec.apiKey, version, 7, 'fuzz-client', encode)
    : Buffer.concat(encodeResponseFrame(codec.apiKey, version, 7, encode));
  const frame = sized.subarray(4);
  const bodyStart = frame.length - body.length;
  if (!frame.subarray(bodyStart).equals(body)) throw new Error(`${targetName(target)}: unstable encoding`);
  return { target, body, lengths: [...w.fields.values()], frame, bodyStart };
}

/** mulberry32: small, fast and seedable, so a failure can be replayed from its seed. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values a liar would put in a length field: huge, negative, off by one, boundary. */
const INT32_LIES = [0x7fffffff, 0x7ffffffe, 0x40000000, -0x80000000, -2, -1, 0, 0x10000];
const INT16_LIES = [0x7fff, 0x7ffe, -0x8000, -2, -1, 0, 0x100];
const UVARINT_LIES = [0xffffffff, 0xfffffffe, 0x80000000, 0x7fffffff, 0x10000, 0, 1];
/** Varints a conforming reader must refuse: longer than five bytes, or a fifth byte past 32 bits. */
const BAD_VARINTS = [
  Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]),
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0x1f]),
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
];
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

/** Writes `value` over the length field at `f` (shifted by `base`), resizing varints as needed. */
export function lieAbout(buf: Buffer, f: LengthField, base: number, value: number): Buffer {
  const at = base + f.offset;
  if (f.width === 'uvarint') {
    return Buffer.concat([buf.subarray(0, at), encodeUvarint(value), buf.subarray(at + f.size)]);
  }
  const out = Buffer.from(buf);
  if (f.width === 'int32') out.writeInt32BE(value | 0, at);
  else out.writeInt16BE(((value << 16) >> 16), at);
  return out;
}

/** One fuzz input and how it was made (for reports and reproduction). */
export interface FuzzCase {
  seed: Seed;
  input: Buffer;
  /** 'body': decode with the target's decoder; 'frame': decode the whole frame. */
  mode: 'body' | 'frame';
  /** Version the body decoder is called with (differs from the seed's for version confusion). */
  version: number;
  how: string;
}

export class Mutator {
  private readonly rand: () => number;

  constructor(private readonly corpus: Seed[], seed: number) {
    this.rand = makeRng(seed);
  }

  private int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  private pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }

  private randomBytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** The next case: a mutated seed most of the time, sometimes pure noise behind a valid header. */
  next(): FuzzCase {
    const seed = this.pick(this.corpus);
    const mode = this.rand() < 0.5 ? 'body' : 'frame';
    const base = mode === 'body' ? 0 : seed.bodyStart;
    let input = mode === 'body' ? seed.body : seed.frame;
    const hows: string[] = [];
    const roll = this.rand();
    if (roll < 0.04) {
      // Noise: random bytes where the body should be (after a valid header in frame mode).
      const noise = this.randomBytes(this.int(64));
      input = Buffer.concat([input.subarray(0, base), noise]);
      hows.push(`noise(${noise.length})`);
    } else {
      const rounds = 1 + (this.rand() < 0.3 ? this.int(3) : 0);
      for (let i = 0; i < rounds; i++) input = this.mutate(seed, input, base, hows);
    }
    let version = seed.target.version;
    if (mode === 'body' && this.rand() < 0.05) {
      // Version confusion: a body of one version read as another (including unsupported ones).
      version = seed.target.codec.minVersion - 1 + this.int(seed.target.codec.maxVersion - seed.target.codec.minVersion + 3);
      hows.push(`as-v${version}`);
    }
    return { seed, input, mode, version, how: hows.join('+') };
  }

  private mutate(seed: Seed, input: Buffer, base: number, hows: string[]): Buffer {
    const len = input.length;
    switch (this.int(9)) {
      case 0: case 1: { // the favourite: lie in a length prefix the encoder wrote
        if (seed.lengths.length === 0 || input.length !== (base === 0 ? seed.body : seed.frame).length) {
          return this.flipBits(input, hows);
        }
        const f = this.pick(seed.lengths);
        const value = f.width === 'int32' ? this.pick(INT32_LIES)
          : f.width === 'int16' ? this.pick(INT16_LIES) : this.pick(UVARINT_LIES);
        hows.push(`lie(${f.width}@${base + f.offset}=${value})`);
        return lieAbout(input, f, base, value);
      }
      case 2: return this.flipBits(input, hows);
      case 3: { // interesting byte values at random places
        const out = Buffer.from(input);
        const n = 1 + this.int(4);
        for (let i = 0; i < n && len > 0; i++) out[this.int(len)] = this.pick(INTERESTING_BYTES);
        hows.push(`bytes(${n})`);
        return out;
      }
      case 4: { // truncation, the shape of a frame cut by a lying size prefix
        const at = this.int(len + 1);
        hows.push(`truncate(${at})`);
        return input.subarray(0, at);
      }
      case 5: { // insertion
        const at = this.int(len + 1);
        const extra = this.rand() < 0.3 ? this.pick(BAD_VARINTS) : this.randomBytes(1 + this.int(8));
        hows.push(`insert(${at},${extra.length})`);
        return Buffer.concat([input.subarray(0, at), extra, input.subarray(at)]);
      }
      case 6: { // deletion
        const at = this.int(len + 1);
        const n = 1 + this.int(8);
        hows.push(`delete(${at},${n})`);
        return Buffer.concat([input.subarray(0, at), input.subarray(at + n)]);
      }
      case 7: { // duplicate a slice in place (repeats tags, array elements, fields)
        const from = this.int(len + 1);
        const n = Math.min(len - from, 1 + this.int(16));
        hows.push(`dup(${from},${n})`);
        return Buffer.concat([input.subarray(0, from + n), input.subarray(from)]);
      }
      default: { // splice: our head, another seed's tail
        const other = this.pick(this.corpus).body;
        const at = this.int(len + 1);
        const from = this.int(other.length + 1);
        hows.push(`splice(${at},${from})`);
        return Buffer.concat([input.subarray(0, at), other.subarray(from)]);
      }
    }
  }

  private flipBits(input: Buffer, hows: string[]): Buffer {
    if (input.length === 0) return input;
    const out = Buffer.from(input);
    const n = 1 + this.int(4);
    for (let i = 0; i < n; i++) {
      const at = this.int(out.length);
      out[at] = out[at]! ^ (1 << this.int(8));
    }
    hows.push(`flip(${n})`);
    return out;
  }
}

export type Outcome = 'decoded' | 'rejected';

/** A case whose decoder threw something other than ProtocolDecodeError, or took too long. */
export interface FuzzFailure {
  target: string;
  mode: FuzzCase['mode'];
  version: number;
  how: string;
  inputHex: string;
  error: string;
}

/** A decode slower than this is reported: legitimate decodes of these inputs take microseconds. */
export const SLOW_CASE_MS = 50;
/**
 * A slow case is timed again this many times and reported only if every run was slow: a GC pause
 * or the box being busy stalls one run, while a decoder that loops or allocates per claimed byte
 * is slow every time.
 */
const SLOW_RETRIES = 2;

/**
 * Runs `attempt` and returns its result with the time it took; a slow attempt is run again (up to
 * SLOW_RETRIES times) and the fastest time kept. `attempt` must be deterministic.
 */
export function timed<T>(attempt: () => T): { result: T; ms: number } {
  let ms = Infinity;
  for (let run = 0; ; run++) {
    const started = performance.now();
    const result = attempt();
    ms = Math.min(ms, performance.now() - started);
    if (ms <= SLOW_CASE_MS || run === SLOW_RETRIES) return { result, ms };
  }
}

/** Decodes one case; a thrown ProtocolDecodeError is an outcome, anything else is returned. */
function attemptCase(c: FuzzCase): Outcome | { thrown: unknown } {
  try {
    if (c.mode === 'body') decoderOf(c.seed.target)(new Reader(c.input), c.version);
    else decodeFrame(c.seed.target, c.input);
    return 'decoded';
  } catch (e) {
    return e instanceof ProtocolDecodeError ? 'rejected' : { thrown: e };
  }
}

/** Runs one case. Returns its outcome, or a failure. */
export function runCase(c: FuzzCase): Outcome | FuzzFailure {
  const { result, ms } = timed(() => attemptCase(c));
  if (typeof result !== 'string') return failure(c, result.thrown);
  if (ms > SLOW_CASE_MS) return failure(c, new Error(`decode took ${ms.toFixed(0)} ms (fastest of ${SLOW_RETRIES + 1} runs)`));
  return result;
}

/**
 * Decodes a frame as the broker (request) or a client (response) would: header first, then the
 * body with the decoder the header names. A request for an unknown API or version is the
 * caller's business (UNSUPPORTED_VERSION), not the codec's, so it counts as decoded.
 */
export function decodeFrame(target: Target, frame: Buffer): void {
  if (target.direction === 'response') {
    const { body } = decodeResponseFrame(target.codec.apiKey, target.version, frame);
    target.codec.decodeResponse(body, target.version);
    return;
  }
  const { header, body } = decodeRequestFrame(frame);
  const codec = API_CODECS.get(header.requestApiKey);
  if (codec === undefined) return;
  const v = header.requestApiVersion;
  if (v < codec.minVersion || v > codec.maxVersion) return;
  codec.decodeRequest(body, v);
}

function failure(c: FuzzCase, e: unknown): FuzzFailure {
  return {
    target: targetName(c.seed.target),
    mode: c.mode,
    version: c.version,
    how: c.how,
    inputHex: c.input.toString('hex'),
    error: e instanceof Error ? (e.stack ?? e.message) : String(e),
  };
}

export function formatFailure(f: FuzzFailure): string {
  return [
    `${f.target} (${f.mode}, decoded as v${f.version}) after ${f.how}`,
    `input: ${f.inputHex}`,
    f.error,
  ].join('\n');
}

export interface FuzzStats {
  cases: number;
  decoded: number;
  rejected: number;
  /** Cases per API name (requests and responses together). */
  perApi: Map<string, number>;
  failures: FuzzFailure[];
  elapsedMs: number;
}

export interface FuzzOptions {
  corpus: Seed[];
  seed: number;
  /** Stop after this many cases... */
  maxCases?: number;
  /** ...or after this long, whichever comes first. */
  maxMs?: number;
  /** Stop collecting after this many failures (one bug tends to fail thousands of cases). */
  maxFailures?: number;
  /** Called every `progressEvery` cases, for long runs. */
  onProgress?: (stats: FuzzStats) => void;
  progressEvery?: number;
}

export function runFuzz(options: FuzzOptions): FuzzStats {
  const mutator = new Mutator(options.corpus, options.seed);
  const maxCases = options.maxCases ?? Infinity;
  const deadline = performance.now() + (options.maxMs ?? Infinity);
  const maxFailures = options.maxFailures ?? 20;
  const progressEvery = options.progressEvery ?? 100_000;
  const stats: FuzzStats = { cases: 0, decoded: 0, rejected: 0, perApi: new Map(), failures: [], elapsedMs: 0 };
  const started = performance.now();
  while (stats.cases < maxCases && stats.failures.length < maxFailures) {
    // Checking the clock every case would cost more than some decodes.
    if (stats.cases % 256 === 0 && performance.now() > deadline) break;
    const c = mutator.next();
    const result = runCase(c);
    stats.cases++;
    const api = c.seed.target.codec.name;
    stats.perApi.set(api, (stats.perApi.get(api) ?? 0) + 1);
    if (result === 'decoded') stats.decoded++;
    else if (result === 'rejected') stats.rejected++;
    else stats.failures.push(result);
    if (options.onProgress && stats.cases % progressEvery === 0) {
      stats.elapsedMs = performance.now() - started;
      options.onProgress(stats);
    }
  }
  stats.elapsedMs = performance.now() - started;
  return stats;
}

/** The largest claim each length encoding can make: ~2 GB (int32), 32 KB (int16), ~4 GB (varint). */
const HUGE: Record<LengthField['width'], number> = { int32: 0x7fffffff, int16: 0x7fff, uvarint: 0xffffffff };

export interface LengthLieStats {
  cases: number;
  failures: FuzzFailure[];
  slowestMs: number;
}

/**
 * For every count or length prefix of every seed, claims the largest size its encoding allows,
 * in the body alone and inside the frame. Nothing before the prefix changed, so the decoder must
 * reach it and then fail right there: a ProtocolDecodeError whose offset is the prefix itself
 * (count checked before allocating) or the byte after it (the bytes are not there). Failing
 * anywhere later would mean it believed the claim and started reading or allocating.
 */
export function runLengthLies(corpus: Seed[]): LengthLieStats {
  const stats: LengthLieStats = { cases: 0, failures: [], slowestMs: 0 };
  for (const seed of corpus) {
    for (const f of seed.lengths) {
      if (f.role === 'varint') continue;
      for (const mode of ['body', 'frame'] as const) {
        const base = mode === 'body' ? 0 : seed.bodyStart;
        const input = lieAbout(mode === 'body' ? seed.body : seed.frame, f, base, HUGE[f.width]);
        const c: FuzzCase = { seed, input, mode, version: seed.target.version,
          how: `lie(${f.width} ${f.role}@${base + f.offset}=${HUGE[f.width]})` };
        const newWidth = f.width === 'uvarint' ? uvarintBytes(HUGE.uvarint) : f.size;
        const allowed = [base + f.offset, base + f.offset + newWidth];
        const { result: problem, ms } = timed(() => lengthLieProblem(c, allowed));
        stats.slowestMs = Math.max(stats.slowestMs, ms);
        stats.cases++;
        if (problem !== null) stats.failures.push(failure(c, problem));
      }
    }
  }
  return stats;
}

function lengthLieProblem(c: FuzzCase, allowedOffsets: number[]): unknown {
  try {
    if (c.mode === 'body') decoderOf(c.seed.target)(new Reader(c.input), c.version);
    else decodeFrame(c.seed.target, c.input);
  } catch (e) {
    if (!(e instanceof ProtocolDecodeError)) return e;
    if (allowedOffsets.includes(e.offset)) return null;
    return new Error(`rejected at byte ${e.offset}, not at the lying prefix (${allowedOffsets.join(' or ')}): ${e.message}`);
  }
  return new Error('decoded although a length claims more bytes than the frame has');
}

/** Pure noise to every decoder (and the frame decoder), for the shapes no seed resembles. */
export function runNoise(targets: Target[], seed: number, perTarget: number): { cases: number; failures: FuzzFailure[] } {
  const rand = makeRng(seed);
  const failures: FuzzFailure[] = [];
  let cases = 0;
  for (const target of targets) {
    const stub: Seed = { target, body: Buffer.alloc(0), lengths: [], frame: Buffer.alloc(0), bodyStart: 0 };
    for (let i = 0; i < perTarget; i++) {
      const n = Math.floor(rand() * 48);
      const input = Buffer.allocUnsafe(n);
      for (let j = 0; j < n; j++) input[j] = Math.floor(rand() * 256);
      for (const mode of ['body', 'frame'] as const) {
        const result = runCase({ seed: stub, input, mode, version: target.version, how: 'noise' });
        cases++;
        if (typeof result !== 'string') failures.push(result);
      }
    }
  }
  return { cases, failures };
}
