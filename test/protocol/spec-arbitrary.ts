/**
 * fast-check arbitraries for any generated message at any version, built from the same spec
 * model the generator reads. Fields absent from a version get their defaults (taken from the
 * generated `default*` functions), so decode(encode(x)) must return x exactly.
 */
import { resolve } from 'node:path';
import fc from 'fast-check';
import {
  type FieldSpec, type FieldType, type MessageSpec, type StructSpec, intersect, isEmpty,
  loadMessageSpecs,
} from '../../protocol/codegen/spec.js';

export const SPEC_DIR = resolve(import.meta.dirname, '../../../shared/kafka-protocol');

export function loadSpecs(): MessageSpec[] {
  return loadMessageSpecs(resolve(SPEC_DIR, 'messages'));
}

const inRange = (v: number, r: { min: number; max: number }) => v >= r.min && v <= r.max;

type Defaults = Record<string, () => Record<string, unknown>>;

const UUID = fc.uint8Array({ minLength: 16, maxLength: 16 })
  .map((b) => Buffer.from(b).toString('base64url'));
const BYTES = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b));

function scalar(name: string): fc.Arbitrary<unknown> {
  switch (name) {
    case 'bool': return fc.boolean();
    case 'int8': return fc.integer({ min: -128, max: 127 });
    case 'int16': return fc.integer({ min: -32768, max: 32767 });
    case 'uint16': return fc.integer({ min: 0, max: 65535 });
    case 'int32': return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'uint32': return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case 'int64': return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float64': return fc.double({ noNaN: true });
    case 'string': return fc.string({ maxLength: 12, unit: 'grapheme' });
    case 'uuid': return UUID;
    case 'bytes': case 'records': return BYTES;
    default: throw new Error(`no arbitrary for ${name}`);
  }
}

export class MessageArbitraries {
  constructor(private readonly msg: MessageSpec, private readonly defaults: Defaults) {}

  message(v: number): fc.Arbitrary<unknown> {
    return this.struct(this.msg.root, v);
  }

  private flexible(v: number): boolean {
    return inRange(v, this.msg.flexibleVersions);
  }

  private struct(s: StructSpec, v: number): fc.Arbitrary<Record<string, unknown>> {
    const shape: Record<string, fc.Arbitrary<unknown>> = {};
    const makeDefault = this.defaults[`default${s.typeName}`];
    if (makeDefault === undefined) throw new Error(`no default${s.typeName}`);
    const base = makeDefault();
    for (const f of s.fields) {
      shape[f.name] = inRange(v, f.versions) ? this.field(f, v) : fc.constant(base[f.name]);
    }
    shape.unknownTaggedFields = this.flexible(v) ? this.unknownTags() : fc.constant(undefined);
    return fc.record(shape);
  }

  /** Unknown tags numbered well above any tag the specs use, in ascending order. */
  private unknownTags(): fc.Arbitrary<unknown> {
    return fc.oneof(
      fc.constant(undefined),
      fc.uniqueArray(fc.integer({ min: 100, max: 300 }), { minLength: 1, maxLength: 2 })
        .chain((tags) => fc.tuple(...tags.sort((a, b) => a - b).map((tag) =>
          BYTES.map((data) => ({ tag, data }))))),
    );
  }

  private field(f: FieldSpec, v: number): fc.Arbitrary<unknown> {
    const value = this.type(f.type, v);
    const nullable = inRange(v, f.nullableVersions)
      && !(f.type.kind === 'primitive' && f.type.name === 'uuid');
    return nullable ? fc.option(value, { nil: null, freq: 4 }) : value;
  }

  private type(t: FieldType, v: number): fc.Arbitrary<unknown> {
    if (t.kind === 'primitive') return scalar(t.name);
    if (t.kind === 'struct') return this.struct(t.struct, v);
    return fc.array(this.type(t.element, v), { maxLength: 3 });
  }
}

/** Every version of a message, as the generator accepts them. */
export function versionsOf(msg: MessageSpec): number[] {
  const out: number[] = [];
  for (let v = msg.validVersions.min; v <= msg.validVersions.max; v++) out.push(v);
  return out;
}

export function hasTaggedOrFlexible(msg: MessageSpec): boolean {
  return !isEmpty(intersect(msg.flexibleVersions, msg.validVersions));
}
