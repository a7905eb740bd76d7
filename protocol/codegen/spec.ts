/**
 * Loads Apache Kafka's message specs (JSON with `//` comments) into a typed model the emitters
 * walk. Only the generator imports this file; nothing at runtime reads the specs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** An inclusive version range; `max` is Infinity for "N+". "none" is the empty range. */
export interface VersionRange {
  min: number;
  max: number;
}

export const NO_VERSIONS: VersionRange = { min: 0, max: -1 };

export function parseVersions(text: string | undefined, fallback: VersionRange): VersionRange {
  if (text === undefined) return fallback;
  const t = text.trim();
  if (t === 'none') return NO_VERSIONS;
  const plus = /^(\d+)\+$/.exec(t);
  if (plus) return { min: Number(plus[1]), max: Infinity };
  const range = /^(\d+)-(\d+)$/.exec(t);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  if (/^\d+$/.test(t)) return { min: Number(t), max: Number(t) };
  throw new Error(`bad version range "${text}"`);
}

export function intersect(a: VersionRange, b: VersionRange): VersionRange {
  return { min: Math.max(a.min, b.min), max: Math.min(a.max, b.max) };
}

export function isEmpty(r: VersionRange): boolean {
  return r.max < r.min;
}

export type PrimitiveType =
  | 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float64'
  | 'string' | 'uuid' | 'bytes' | 'records';

const PRIMITIVES = new Set<string>([
  'bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64',
  'string', 'uuid', 'bytes', 'records',
]);

export type FieldType =
  | { kind: 'primitive'; name: PrimitiveType }
  | { kind: 'struct'; struct: StructSpec }
  | { kind: 'array'; element: FieldType };

export interface FieldSpec {
  /** camelCase property name */
  name: string;
  specName: string;
  type: FieldType;
  versions: VersionRange;
  nullableVersions: VersionRange;
  taggedVersions: VersionRange;
  tag: number | undefined;
  /** Overrides the message's flexible versions for this field ("none" on RequestHeader.ClientId). */
  flexibleVersions: VersionRange | undefined;
  ignorable: boolean;
  defaultText: string | undefined;
  about: string;
}

export interface StructSpec {
  /** TypeScript type name, prefixed by the message name so request and response never clash. */
  typeName: string;
  specName: string;
  fields: FieldSpec[];
  /** Versions in which the struct is reachable (its parent field's versions). */
  versions: VersionRange;
}

export interface MessageSpec {
  name: string;
  type: 'request' | 'response' | 'header';
  apiKey: number | undefined;
  /** Valid versions, excluding an unstable latest version. */
  validVersions: VersionRange;
  flexibleVersions: VersionRange;
  root: StructSpec;
  /** Every struct in the message, in emission order (children before parents). */
  structs: StructSpec[];
  fileName: string;
}

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  ignorable?: boolean;
  default?: string | number | boolean;
  about?: string;
  fields?: RawField[];
}

interface RawMessage {
  apiKey?: number;
  type: 'request' | 'response' | 'header' | 'data';
  name: string;
  validVersions: string;
  flexibleVersions?: string;
  latestVersionUnstable?: boolean;
  fields: RawField[];
  commonStructs?: { name: string; versions?: string; fields: RawField[] }[];
}

/** Removes `//` comments outside string literals (the spec files put them on their own lines). */
export function stripComments(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    let inString = false;
    let cut = line.length;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (c === '\\' && inString) { i++; continue; }
      if (c === '"') inString = !inString;
      else if (!inString && c === '/' && line[i + 1] === '/') { cut = i; break; }
    }
    out.push(line.slice(0, cut));
  }
  return out.join('\n');
}

export function camelCase(specName: string): string {
  return specName[0]!.toLowerCase() + specName.slice(1);
}

export function loadMessageSpecs(dir: string): MessageSpec[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const specs: MessageSpec[] = [];
  for (const f of files) {
    const raw = JSON.parse(stripComments(readFileSync(join(dir, f), 'utf8'))) as RawMessage;
    if (raw.type === 'data') continue;
    specs.push(buildMessage(raw, f));
  }
  return specs;
}

function buildMessage(raw: RawMessage, fileName: string): MessageSpec {
  let valid = parseVersions(raw.validVersions, NO_VERSIONS);
  if (raw.latestVersionUnstable === true) valid = { min: valid.min, max: valid.max - 1 };
  const flexible = parseVersions(raw.flexibleVersions ?? 'none', NO_VERSIONS);
  const structs: StructSpec[] = [];
  const common = new Map<string, RawField[]>();
  for (const c of raw.commonStructs ?? []) common.set(c.name, c.fields);
  const commonBuilt = new Map<string, StructSpec>();

  const buildStruct = (specName: string, rawFields: RawField[], versions: VersionRange) => {
    const struct: StructSpec = {
      typeName: specName === raw.name ? raw.name : `${raw.name}${specName}`,
      specName,
      fields: [],
      versions,
    };
    for (const rf of rawFields) struct.fields.push(buildField(rf, versions));
    structs.push(struct);
    return struct;
  };

  const resolveType = (rf: RawField, typeText: string, versions: VersionRange): FieldType => {
    if (typeText.startsWith('[]')) {
      return { kind: 'array', element: resolveType(rf, typeText.slice(2), versions) };
    }
    if (PRIMITIVES.has(typeText)) return { kind: 'primitive', name: typeText as PrimitiveType };
    if (rf.fields !== undefined) return { kind: 'struct', struct: buildStruct(typeText, rf.fields, versions) };
    const commonFields = common.get(typeText);
    if (commonFields === undefined) throw new Error(`${raw.name}: unknown type ${typeText}`);
    let built = commonBuilt.get(typeText);
    if (built === undefined) {
      // Common structs are shared by several fields; they must accept every valid version.
      built = buildStruct(typeText, commonFields, valid);
      commonBuilt.set(typeText, built);
    }
    return { kind: 'struct', struct: built };
  };

  const buildField = (rf: RawField, parentVersions: VersionRange): FieldSpec => {
    const versions = intersect(parseVersions(rf.versions, NO_VERSIONS), parentVersions);
    const field: FieldSpec = {
      name: camelCase(rf.name),
      specName: rf.name,
      type: resolveType(rf, rf.type, versions),
      versions,
      nullableVersions: parseVersions(rf.nullableVersions, NO_VERSIONS),
      taggedVersions: parseVersions(rf.taggedVersions, NO_VERSIONS),
      tag: rf.tag,
      flexibleVersions: rf.flexibleVersions === undefined
        ? undefined : parseVersions(rf.flexibleVersions, NO_VERSIONS),
      ignorable: rf.ignorable === true,
      defaultText: rf.default === undefined ? undefined : String(rf.default),
      about: rf.about ?? '',
    };
    if (field.tag !== undefined && isEmpty(field.taggedVersions)) {
      throw new Error(`${raw.name}.${rf.name}: tag without taggedVersions`);
    }
    return field;
  };

  const root = buildStruct(raw.name, raw.fields, valid);
  return {
    name: raw.name,
    type: raw.type as MessageSpec['type'],
    apiKey: raw.apiKey,
    validVersions: valid,
    flexibleVersions: flexible,
    root,
    structs,
    fileName,
  };
}
