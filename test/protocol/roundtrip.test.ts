/**
 * Round trip of every generated message at every version: decode(encode(x)) == x for random x,
 * and encode(decode(bytes)) == bytes, so nothing (unknown tags included) is lost either way.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';
import { MessageArbitraries, loadSpecs, versionsOf } from './spec-arbitrary.js';
import { kebab } from '../../protocol/codegen/main.js';

const RUNS_PER_VERSION = Number(process.env.ROUNDTRIP_RUNS ?? 50);


const all = loadSpecs();
// The generator leaves out APIs whose request has no stable version; so does this test.
const generatedKeys = new Set(all.filter((s) => s.type === 'request'
  && s.validVersions.max >= s.validVersions.min).map((s) => s.apiKey));
const specs = all.filter((s) => s.type === 'header' || generatedKeys.has(s.apiKey));

describe('generated codecs round-trip', () => {
  for (const msg of specs) {
    const base = msg.type === 'header' ? null : msg.name.replace(/(Request|Response)$/, '');
    const file = base === null ? '../../protocol/generated/headers.js'
      : `../../protocol/generated/messages/${kebab(base)}.js`;
    it(`${msg.name} v${msg.validVersions.min}-${msg.validVersions.max}`, async () => {
      const mod = (await import(file)) as Record<string, unknown>;
      const encode = mod[`encode${msg.name}`] as (w: Writer, v: number, m: unknown) => void;
      const decode = mod[`decode${msg.name}`] as (r: Reader, v: number) => unknown;
      expect(typeof encode).toBe('function');
      const arbs = new MessageArbitraries(msg, mod as never);
      for (const v of versionsOf(msg)) {
        fc.assert(fc.property(arbs.message(v), (value) => {
          const w = new Writer();
          encode(w, v, value);
          const bytes = w.toBuffer();
          const r = new Reader(bytes);
          const decoded = decode(r, v);
          expect(r.remaining()).toBe(0);
          expect(decoded).toEqual(value);
          const again = new Writer();
          encode(again, v, decoded);
          expect(again.toBuffer().equals(bytes)).toBe(true);
        }), { numRuns: RUNS_PER_VERSION });
      }
    });
  }
});
