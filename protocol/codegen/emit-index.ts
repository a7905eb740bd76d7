/**
 * Emits the API table (keys, names, supported version ranges, flexible versions), the header
 * version rules, and a registry of codecs by API key for the broker's dispatcher and the tests.
 */
import { type MessageSpec, type VersionRange, intersect, isEmpty } from './spec.js';

/** First flexible version within the valid range, or -1 when there is none ("none"). */
export function firstFlexible(flexible: VersionRange, valid: VersionRange): number {
  const r = intersect(flexible, valid);
  return isEmpty(r) ? -1 : r.min;
}

export interface ApiPair {
  apiKey: number;
  /** Base name without Request/Response, e.g. "Produce". */
  name: string;
  fileBase: string;
  request: MessageSpec;
  response: MessageSpec;
}

export function emitApiKeys(apis: ApiPair[]): string[] {
  const lines = ['export const ApiKey = {'];
  for (const a of apis) lines.push(`  ${a.name}: ${a.apiKey},`);
  lines.push('} as const;', '', 'export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];', '');
  lines.push(
    'export interface ApiSpec {',
    '  apiKey: number;',
    '  name: string;',
    '  /** Versions the spec defines (an unstable latest version excluded). */',
    '  minVersion: number;',
    '  maxVersion: number;',
    '  /** First flexible request version, -1 if none. */',
    '  requestFlexibleMin: number;',
    '  /** First flexible response version, -1 if none. */',
    '  responseFlexibleMin: number;',
    '}',
    '',
    'export const API_SPECS: ReadonlyMap<number, ApiSpec> = new Map([',
  );
  for (const a of apis) {
    const { min, max } = a.request.validVersions;
    const reqFlex = firstFlexible(a.request.flexibleVersions, a.request.validVersions);
    const resFlex = firstFlexible(a.response.flexibleVersions, a.response.validVersions);
    lines.push(`  [${a.apiKey}, { apiKey: ${a.apiKey}, name: '${a.name}', minVersion: ${min}, maxVersion: ${max}, requestFlexibleMin: ${reqFlex}, responseFlexibleMin: ${resFlex} }],`);
  }
  lines.push(']);', '');
  lines.push(
    '/** Request header version: v2 for flexible requests, v1 otherwise, v0 for ControlledShutdown v0. */',
    'export function requestHeaderVersion(apiKey: number, apiVersion: number): number {',
    '  const spec = API_SPECS.get(apiKey);',
    '  if (spec === undefined) return 1;',
    '  if (apiKey === ApiKey.ControlledShutdown && apiVersion === 0) return 0;',
    '  return spec.requestFlexibleMin >= 0 && apiVersion >= spec.requestFlexibleMin ? 2 : 1;',
    '}',
    '',
    '/**',
    ' * Response header version: v1 for flexible responses, else v0. ApiVersions responses always use',
    ' * v0, so a client that does not yet know the broker\'s versions can still parse the reply.',
    ' */',
    'export function responseHeaderVersion(apiKey: number, apiVersion: number): number {',
    '  const spec = API_SPECS.get(apiKey);',
    '  if (spec === undefined || apiKey === ApiKey.ApiVersions) return 0;',
    '  return spec.responseFlexibleMin >= 0 && apiVersion >= spec.responseFlexibleMin ? 1 : 0;',
    '}',
    '',
  );
  return lines;
}

export function emitRegistry(apis: ApiPair[]): string[] {
  const lines = [
    "import type { Reader } from '../primitives/reader.js';",
    "import type { Writer } from '../primitives/writer.js';",
  ];
  for (const a of apis) {
    lines.push(`import * as ${a.name} from './messages/${a.fileBase}.js';`);
  }
  lines.push(
    '',
    '/** Decoders and encoders of one API, untyped, for generic code (dispatch, fuzzing, tests). */',
    'export interface ApiCodec {',
    '  apiKey: number;',
    '  name: string;',
    '  minVersion: number;',
    '  maxVersion: number;',
    '  decodeRequest(r: Reader, version: number): unknown;',
    '  encodeRequest(w: Writer, version: number, message: never): void;',
    '  decodeResponse(r: Reader, version: number): unknown;',
    '  encodeResponse(w: Writer, version: number, message: never): void;',
    '}',
    '',
    'export const API_CODECS: ReadonlyMap<number, ApiCodec> = new Map<number, ApiCodec>([',
  );
  for (const a of apis) {
    const { min, max } = a.request.validVersions;
    lines.push(`  [${a.apiKey}, { apiKey: ${a.apiKey}, name: '${a.name}', minVersion: ${min}, maxVersion: ${max}, ` +
      `decodeRequest: ${a.name}.decode${a.request.name}, encodeRequest: ${a.name}.encode${a.request.name}, ` +
      `decodeResponse: ${a.name}.decode${a.response.name}, encodeResponse: ${a.name}.encode${a.response.name} }],`);
  }
  lines.push(']);', '');
  return lines;
}
