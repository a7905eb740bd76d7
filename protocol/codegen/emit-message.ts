/**
 * Emits straight-line TypeScript decode/encode functions for one message spec: a type, a
 * `read*`, `write*` and `default*` function per struct. Version differences become `v >= N`
 * branches on a version number, never a runtime walk over the schema.
 */
import {
  type FieldSpec, type FieldType, type MessageSpec, type StructSpec, type VersionRange,
  intersect, isEmpty,
} from './spec.js';
import { firstFlexible } from './emit-index.js';

/** A condition on the runtime version `v`, simplified against the versions where it is asked. */
function cond(range: VersionRange, within: VersionRange): string {
  const r = intersect(range, within);
  if (isEmpty(r)) return 'false';
  const needMin = r.min > within.min;
  const needMax = r.max < within.max;
  if (!needMin && !needMax) return 'true';
  if (needMin && needMax) return `(v >= ${r.min} && v <= ${r.max})`;
  return needMin ? `v >= ${r.min}` : `v <= ${r.max}`;
}

function pick(c: string, yes: string, no: string): string {
  if (c === 'true') return yes;
  if (c === 'false') return no;
  return `(${c} ? ${yes} : ${no})`;
}

/**
 * The range in which a field's encoding is decided: its single regular range, so that e.g. a
 * field present and nullable from v3 needs no nullability test. With a tagged gap, the struct's.
 */
function presenceRange(f: FieldSpec, within: VersionRange): VersionRange {
  const parts = regularVersions(f);
  return parts.length === 1 ? intersect(parts[0]!, within) : within;
}

/** Versions in which a field is a regular (untagged) field. */
function regularVersions(f: FieldSpec): VersionRange[] {
  const tagged = intersect(f.taggedVersions, f.versions);
  if (f.tag === undefined || isEmpty(tagged)) return [f.versions];
  const parts: VersionRange[] = [];
  if (tagged.min > f.versions.min) parts.push({ min: f.versions.min, max: tagged.min - 1 });
  if (tagged.max < f.versions.max) parts.push({ min: tagged.max + 1, max: f.versions.max });
  return parts;
}

function isNullableAnywhere(f: FieldSpec): boolean {
  // A default of null makes the type nullable even where the field's versions were all trimmed
  // away as unstable.
  return !isEmpty(intersect(f.nullableVersions, f.versions)) || f.defaultText === 'null';
}

const SCALAR_TS: Record<string, string> = {
  bool: 'boolean', int8: 'number', int16: 'number', uint16: 'number', int32: 'number',
  uint32: 'number', int64: 'bigint', float64: 'number', string: 'string', uuid: 'string',
  bytes: 'Buffer', records: 'RecordSet',
};

function tsType(t: FieldType): string {
  if (t.kind === 'primitive') return SCALAR_TS[t.name]!;
  if (t.kind === 'struct') return t.struct.typeName;
  const inner = tsType(t.element);
  return inner.includes(' ') ? `(${inner})[]` : `${inner}[]`;
}

function fieldTsType(f: FieldSpec): string {
  const base = tsType(f.type);
  const nullable = isNullableAnywhere(f) || (f.type.kind === 'primitive' && f.type.name === 'records');
  return nullable ? `${base} | null` : base;
}

function parseIntDefault(text: string): number {
  const n = text.startsWith('0x') ? parseInt(text.slice(2), 16) : Number(text);
  if (!Number.isFinite(n)) throw new Error(`bad default ${text}`);
  return n;
}

/** The default value expression for a field, per the spec format's rules. */
function defaultExpr(f: FieldSpec): string {
  const d = f.defaultText;
  const t = f.type;
  if (d === 'null') return 'null';
  if (t.kind === 'array') return '[]';
  if (t.kind === 'struct') return `default${t.struct.typeName}()`;
  switch (t.name) {
    case 'bool': return d === 'true' ? 'true' : 'false';
    case 'int64': return `${d === undefined || d === '' ? 0 : parseIntDefault(d)}n`;
    case 'string': return JSON.stringify(d ?? '');
    case 'uuid': return 'ZERO_UUID';
    case 'bytes': return 'EMPTY_BYTES';
    case 'records': return 'null';
    default: return String(d === undefined || d === '' ? 0 : parseIntDefault(d));
  }
}

/** A cheap test that a value equals its default (tagged fields are written only otherwise). */
function isDefaultTest(f: FieldSpec, value: string): string {
  const d = defaultExpr(f);
  const t = f.type;
  if (d === 'null') return `${value} === null`;
  if (t.kind === 'array') return `${value} !== null && ${value}.length === 0`;
  if (t.kind === 'struct') return `${value} !== null && isDefault${t.struct.typeName}(${value})`;
  if (t.name === 'bytes') return `${value} !== null && ${value}.length === 0`;
  return `${value} === ${d}`;
}

const FIXED_SIZE: Record<string, number> = {
  bool: 1, int8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, float64: 8, uuid: 16,
};

interface Ctx {
  msg: MessageSpec;
  lines: string[];
  /** Structs that need an isDefault function (reachable from tagged fields). */
  needIsDefault: Set<StructSpec>;
}

function effectiveFlexible(ctx: Ctx, f: FieldSpec): VersionRange {
  return f.flexibleVersions ?? ctx.msg.flexibleVersions;
}

/** Minimum encoded size of a struct across its versions, used to bound array counts. */
export function minStructBytes(msg: MessageSpec, s: StructSpec): number {
  const lo = Math.max(s.versions.min, msg.validVersions.min);
  const hi = Math.min(s.versions.max, msg.validVersions.max);
  let best = Infinity;
  for (let v = lo; v <= hi; v++) {
    const flexible = v >= msg.flexibleVersions.min && v <= msg.flexibleVersions.max;
    let size = flexible ? 1 : 0;
    for (const f of s.fields) {
      const present = regularVersions(f).some((r) => v >= r.min && v <= r.max);
      if (!present) continue;
      const fFlex = f.flexibleVersions
        ? v >= f.flexibleVersions.min && v <= f.flexibleVersions.max : flexible;
      const nullable = v >= f.nullableVersions.min && v <= f.nullableVersions.max;
      size += minFieldBytes(msg, f.type, fFlex, nullable);
    }
    best = Math.min(best, size);
  }
  return best === Infinity ? 0 : best;
}

function minFieldBytes(msg: MessageSpec, t: FieldType, flex: boolean, nullable: boolean): number {
  if (t.kind === 'array') return flex ? 1 : 4;
  if (t.kind === 'struct') return nullable ? 1 : minStructBytes(msg, t.struct);
  const fixed = FIXED_SIZE[t.name];
  if (fixed !== undefined) return fixed;
  if (t.name === 'string') return flex ? 1 : 2;
  return flex ? 1 : 4;
}

/** Expression reading one value of type t. flex/nul are condition strings on v. */
function readExpr(ctx: Ctx, t: FieldType, flex: string, nul: string, path: string): string {
  if (t.kind === 'struct') {
    const read = `read${t.struct.typeName}(r, v)`;
    return nul === 'false' ? read : pick(nul, `(r.int8() < 0 ? null : ${read})`, read);
  }
  if (t.kind === 'array') return `readArray${arrayHelperName(ctx, t, flex, nul, path)}(r, v)`;
  switch (t.name) {
    case 'string':
      return pick(flex, pick(nul, 'r.compactNullableString()', 'r.compactString()'),
        pick(nul, 'r.nullableString()', 'r.string()'));
    case 'bytes': case 'records':
      return pick(flex, pick(nul, 'r.compactNullableBytes()', 'r.compactBytes()'),
        pick(nul, 'r.nullableBytes()', 'r.bytes()'));
    default:
      return `r.${t.name}()`;
  }
}

/**
 * Arrays get a small helper function each, so the element loop is straight-line and the
 * element type's reader is monomorphic.
 */
const arrayHelpers = new Map<string, string[]>();
let arrayCounter = 0;

function arrayHelperName(ctx: Ctx, t: FieldType & { kind: 'array' }, flex: string, nul: string,
  path: string): string {
  const id = `${ctx.msg.name}${++arrayCounter}`;
  const el = t.element;
  const minBytes = el.kind === 'struct' ? minStructBytes(ctx.msg, el.struct)
    : minFieldBytes(ctx.msg, el, flex !== 'false', false);
  const elRead = readExpr(ctx, el, flex, 'false', path);
  const lines = [
    `function readArray${id}(r: Reader, v: number): ${tsType(t)}${nul === 'false' ? '' : ' | null'} {`,
    `  const n = ${pick(flex, `r.compactArrayLength(${minBytes})`, `r.arrayLength(${minBytes})`)};`,
    nul === 'false'
      ? `  if (n < 0) r.fail('null array where one is required');`
      : `  if (n < 0) { ${nul === 'true' ? '' : `if (!(${nul})) r.fail('null array where one is required'); `}return null; }`,
    `  const a: ${tsType(t)} = new Array(n);`,
    `  for (let i = 0; i < n; i++) a[i] = ${elRead};`,
    `  return a;`,
    `}`,
  ];
  arrayHelpers.set(id, lines);
  ctx.lines.push(...lines, '');
  return id;
}

/** Statements writing `value` of type t. */
function writeStmts(ctx: Ctx, t: FieldType, flex: string, nul: string, value: string,
  indent: string, typeNullable: boolean): string[] {
  // Where the TypeScript type already excludes null, a non-null assertion at run time is noise.
  const nn = (x: string) => (typeNullable ? `nn(w, ${x})` : x);
  if (t.kind === 'struct') {
    const write = `write${t.struct.typeName}(w, v, ${value});`;
    if (nul === 'false') return [`${indent}${write}`];
    const guard = nul === 'true' ? '' : `if (!(${nul})) throw nullError(w); `;
    return [`${indent}if (${value} === null) { ${guard}w.int8(-1); } else { w.int8(1); ${write} }`];
  }
  if (t.kind === 'array') {
    const out: string[] = [];
    const nullWrite = pick(flex, 'w.uvarint(0)', 'w.int32(-1)');
    const loop = [
      `${indent}  ${pick(flex, `w.compactArrayLength(${value}.length)`, `w.arrayLength(${value}.length)`)};`,
      `${indent}  for (const e of ${value}) {`,
      ...writeStmts(ctx, t.element, flex, 'false', 'e', `${indent}    `, false),
      `${indent}  }`,
    ];
    if (nul === 'false' && !typeNullable) return [`${indent}{`, ...loop, `${indent}}`];
    const guard = nul === 'true' ? '' : nul === 'false' ? 'throw nullError(w); ' : `if (!(${nul})) throw nullError(w); `;
    out.push(`${indent}if (${value} === null) { ${guard}${nul === 'false' ? '' : `${nullWrite};`} } else {`);
    out.push(...loop, `${indent}}`);
    return out;
  }
  switch (t.name) {
    case 'string':
      return [`${indent}${pick(flex, pick(nul, `w.compactNullableString(${value})`, `w.compactString(${nn(value)})`),
        pick(nul, `w.nullableString(${value})`, `w.string(${nn(value)})`))};`];
    case 'bytes':
      return [`${indent}${pick(flex, pick(nul, `w.compactNullableBytes(${value})`, `w.compactBytes(${nn(value)})`),
        pick(nul, `w.nullableBytes(${value})`, `w.bytes(${nn(value)})`))};`];
    case 'records':
      // RecordParts are written part by part (see primitives/record-set.ts); the length prefix
      // is the same as for bytes.
      return [`${indent}${pick(flex, `w.compactNullableRecords(${pick(nul, value, nn(value))})`,
        `w.nullableRecords(${pick(nul, value, nn(value))})`)};`];
    default:
      return [`${indent}w.${t.name}(${value});`];
  }
}

function docComment(f: FieldSpec): string {
  const v = f.versions;
  const range = isEmpty(v) ? 'never' : v.max === Infinity ? `v${v.min}+` : `v${v.min}-${v.max}`;
  const tagged = f.tag !== undefined ? `, tagged ${f.tag}` : '';
  const about = f.about.replace(/\*\//g, '* /').replace(/\s+/g, ' ').trim();
  return `  /** ${range}${tagged}. ${about} */`;
}

function emitType(ctx: Ctx, s: StructSpec): void {
  ctx.lines.push(`export interface ${s.typeName} {`);
  for (const f of s.fields) ctx.lines.push(docComment(f), `  ${f.name}: ${fieldTsType(f)};`);
  ctx.lines.push('  /** Tagged fields this codec does not know, preserved for re-encoding. */');
  ctx.lines.push('  unknownTaggedFields: TaggedField[] | undefined;', '}', '');
}

function emitDefault(ctx: Ctx, s: StructSpec): void {
  ctx.lines.push(`export function default${s.typeName}(): ${s.typeName} {`, '  return {');
  for (const f of s.fields) ctx.lines.push(`    ${f.name}: ${defaultExpr(f)},`);
  ctx.lines.push('    unknownTaggedFields: undefined,', '  };', '}', '');
}

function emitIsDefault(ctx: Ctx, s: StructSpec): void {
  const tests = s.fields.map((f) => isDefaultTest(f, `o.${f.name}`));
  ctx.lines.push(`function isDefault${s.typeName}(o: ${s.typeName}): boolean {`);
  ctx.lines.push(`  return ${[...tests, 'o.unknownTaggedFields === undefined'].join('\n    && ')};`, '}', '');
}

function fieldPath(ctx: Ctx, s: StructSpec, f: FieldSpec): string {
  return s.specName === ctx.msg.name ? `${ctx.msg.name}.${f.name}` : `${ctx.msg.name}.${s.specName}.${f.name}`;
}

function emitRead(ctx: Ctx, s: StructSpec): void {
  const within = intersect(s.versions, ctx.msg.validVersions);
  const body: string[] = [];
  const tagged = s.fields.filter((f) => f.tag !== undefined && !isEmpty(intersect(f.taggedVersions, f.versions)));
  for (const f of s.fields) {
    const path = fieldPath(ctx, s, f);
    const present = regularVersions(f).map((r) => cond(r, within)).filter((c) => c !== 'false');
    const where = presenceRange(f, within);
    const flex = cond(effectiveFlexible(ctx, f), where);
    const nul = cond(f.nullableVersions, where);
    const nulRead = f.type.kind === 'primitive' && f.type.name === 'records' && nul === 'false' ? 'false' : nul;
    if (present.length === 0) {
      body.push(`  let ${f.name}: ${fieldTsType(f)} = ${defaultExpr(f)};`);
      continue;
    }
    const read = readExpr(ctx, f.type, flex, nulRead, path);
    const c = present.length === 1 ? present[0]! : present.map((p) => `(${p})`).join(' || ');
    body.push(`  r.at = '${path}';`);
    if (c === 'true' && tagged.indexOf(f) < 0) body.push(`  const ${f.name}: ${fieldTsType(f)} = ${read};`);
    else body.push(`  let ${f.name}: ${fieldTsType(f)} = ${c === 'true' ? read : `${c} ? ${read} : ${defaultExpr(f)}`};`);
  }
  const flexible = cond(ctx.msg.flexibleVersions, within);
  body.push('  let unknownTaggedFields: TaggedField[] | undefined;');
  if (flexible !== 'false') {
    body.push(`  if (${flexible}) {`, `    r.at = '${s.specName === ctx.msg.name ? s.specName : `${ctx.msg.name}.${s.specName}`}.<tags>';`);
    body.push('    for (let n = r.tagCount(); n > 0; n--) {');
    body.push('      const tag = r.uvarint();', '      const savedEnd = r.narrow(r.uvarint());');
    body.push('      switch (tag) {');
    for (const f of tagged) {
      const tv = intersect(f.taggedVersions, f.versions);
      const inVersion = cond(tv, within);
      const nul = cond(f.nullableVersions, intersect(tv, within));
      const read = readExpr(ctx, f.type, 'true', nul, fieldPath(ctx, s, f));
      body.push(`        case ${f.tag}:`);
      if (inVersion === 'true') body.push(`          ${f.name} = ${read};`);
      else body.push(`          if (${inVersion}) ${f.name} = ${read};`,
        `          else (unknownTaggedFields ??= []).push(r.unknownTag(tag));`);
      body.push('          break;');
    }
    body.push('        default:', '          (unknownTaggedFields ??= []).push(r.unknownTag(tag));');
    body.push('      }', '      r.widen(savedEnd);', '    }', '  }');
  }
  const names = s.fields.map((f) => f.name);
  ctx.lines.push(`function read${s.typeName}(r: Reader, v: number): ${s.typeName} {`, ...body);
  ctx.lines.push(`  return { ${[...names, 'unknownTaggedFields'].join(', ')} };`, '}', '');
}

function emitWrite(ctx: Ctx, s: StructSpec): void {
  const within = intersect(s.versions, ctx.msg.validVersions);
  const body: string[] = [];
  const tagged: FieldSpec[] = [];
  for (const f of s.fields) {
    const path = fieldPath(ctx, s, f);
    body.push(`  w.at = '${path}';`);
    if (f.tag !== undefined && !isEmpty(intersect(f.taggedVersions, f.versions))) tagged.push(f);
    const present = regularVersions(f).map((r) => cond(r, within)).filter((c) => c !== 'false');
    const where = presenceRange(f, within);
    const flex = cond(effectiveFlexible(ctx, f), where);
    const nul = cond(f.nullableVersions, where);
    const typeNullable = fieldTsType(f).endsWith('| null');
    const stmts = present.length === 0 ? [] : writeStmts(ctx, f.type, flex, nul, `o.${f.name}`, '    ', typeNullable);
    const c = present.length === 0 ? 'false' : present.length === 1 ? present[0]! : present.map((p) => `(${p})`).join(' || ');
    const taggedHere = tagged.includes(f) ? cond(intersect(f.taggedVersions, f.versions), within) : 'false';
    // A non-ignorable field set to a non-default value cannot be silently dropped (as Java).
    const absentCheck = !f.ignorable && f.type.kind !== 'struct'
      ? `if (!(${isDefaultTest(f, `o.${f.name}`)})${taggedHere === 'false' ? '' : ` && !(${taggedHere})`}) throw absentError(w, v);`
      : '';
    if (c === 'true') body.push(...stmts.map((l) => l.slice(2)));
    else if (c === 'false') { if (absentCheck) body.push(`  ${absentCheck}`); }
    else {
      body.push(`  if (${c}) {`, ...stmts, `  }${absentCheck ? ` else ${absentCheck.startsWith('if') ? `{ ${absentCheck} }` : absentCheck}` : ''}`);
    }
  }
  const flexible = cond(ctx.msg.flexibleVersions, within);
  if (flexible !== 'false') {
    const tagLines: string[] = [];
    if (tagged.length === 0) tagLines.push('    w.taggedFields(undefined, o.unknownTaggedFields);');
    else {
      tagLines.push('    let known: TaggedField[] | undefined;');
      for (const f of tagged) {
        const tv = cond(intersect(f.taggedVersions, f.versions), within);
        const nul = cond(f.nullableVersions, intersect(intersect(f.taggedVersions, f.versions), within));
        tagLines.push(`    if (${tv === 'true' ? '' : `${tv} && `}!(${isDefaultTest(f, `o.${f.name}`)})) {`);
        tagLines.push('      const tw = new Writer(64);', `      tw.at = '${fieldPath(ctx, s, f)}';`);
        tagLines.push(...writeStmts(ctx, f.type, 'true', nul, `o.${f.name}`, '      ', fieldTsType(f).endsWith('| null')).map((l) => l.replace(/\bw\b/g, 'tw')));
        tagLines.push(`      (known ??= []).push({ tag: ${f.tag}, data: tw.toBuffer() });`, '    }');
      }
      tagLines.push('    w.taggedFields(known, o.unknownTaggedFields);');
    }
    body.push(`  if (${flexible}) {`, ...tagLines, '  }');
  }
  ctx.lines.push(`function write${s.typeName}(w: Writer, v: number, o: ${s.typeName}): void {`, ...body, '}', '');
}

function markIsDefault(ctx: Ctx, s: StructSpec): void {
  if (ctx.needIsDefault.has(s)) return;
  ctx.needIsDefault.add(s);
  for (const f of s.fields) {
    let t = f.type;
    while (t.kind === 'array') t = t.element;
    if (t.kind === 'struct') markIsDefault(ctx, t.struct);
  }
}

/** Emits the body (types and functions) for one message into `lines`. */
export function emitMessage(msg: MessageSpec, lines: string[]): void {
  const ctx: Ctx = { msg, lines, needIsDefault: new Set() };
  for (const s of msg.structs) {
    for (const f of s.fields) {
      if (f.tag !== undefined && f.type.kind === 'struct') markIsDefault(ctx, f.type.struct);
    }
  }
  const seen = new Set<string>();
  for (const s of msg.structs) {
    if (seen.has(s.typeName)) throw new Error(`${msg.name}: duplicate struct ${s.typeName}`);
    seen.add(s.typeName);
    emitType(ctx, s);
    emitDefault(ctx, s);
    if (ctx.needIsDefault.has(s)) emitIsDefault(ctx, s);
    emitRead(ctx, s);
    emitWrite(ctx, s);
  }
  const { min, max } = msg.validVersions;
  lines.push(
    `export const ${msg.name}Versions = { min: ${min}, max: ${max}, flexibleMin: ${firstFlexible(msg.flexibleVersions, msg.validVersions)} } as const;`,
    '',
    `export function decode${msg.name}(r: Reader, version: number): ${msg.name} {`,
    `  if (version < ${min} || version > ${max}) r.fail(\`unsupported ${msg.name} version \${version}\`);`,
    `  return read${msg.name}(r, version);`,
    '}',
    '',
    `export function encode${msg.name}(w: Writer, version: number, message: ${msg.name}): void {`,
    `  if (version < ${min} || version > ${max}) throw new ProtocolEncodeError(\`unsupported version \${version}\`, '${msg.name}');`,
    `  write${msg.name}(w, version, message);`,
    '}',
    '',
  );
}

/** Lines every generated message file starts with (helpers the emitted code calls). */
export function fileHelpers(): string[] {
  return [
    'function nullError(w: Writer): ProtocolEncodeError {',
    "  return new ProtocolEncodeError('null where the version does not allow it', w.at);",
    '}',
    '',
    'function absentError(w: Writer, v: number): ProtocolEncodeError {',
    '  return new ProtocolEncodeError(`field has a non-default value but does not exist in version ${v}`, w.at);',
    '}',
    '',
    'function nn<T>(w: Writer, value: T | null): T {',
    '  if (value === null) throw nullError(w);',
    '  return value;',
    '}',
    '',
  ];
}

export function resetCounters(): void {
  arrayCounter = 0;
  arrayHelpers.clear();
}
