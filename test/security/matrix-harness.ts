/**
 * What the authorization matrix needs around a real broker: one started in this process (so the
 * test can grant ACLs through its store as an operator would through kafka-acls.sh, and read what
 * changed), and two ways to send it a request as a principal:
 *  - over the wire, through a TCP connection: User:ANONYMOUS on a PLAINTEXT listener, or the
 *    user a SCRAM login makes it on a SASL listener (a real SaslHandshake and SaslAuthenticate);
 *  - through the broker's dispatcher with an explicit session (the same decode, handlers, services
 *    and encode as a connection; only the socket is missing), for any principal.
 * Requests and responses go through the generated codecs at the version asked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Broker } from '../../src/broker/broker.js';
import { Dispatcher } from '../../src/broker/dispatch.js';
import { HANDLERS } from '../../src/broker/handlers/index.js';
import { loadConfig } from '../../src/config/config.js';
import { AUTHORIZER_CLASS_NAMES } from '../../src/security/authorizer.js';
import type { ConnectionSession } from '../../src/security/principal.js';
import { decodeResponseFrame, encodeRequestFrame } from '../../protocol/frame.js';
import type { Reader } from '../../protocol/primitives/reader.js';
import type { Writer } from '../../protocol/primitives/writer.js';
import { RawClient } from '../helpers/raw-client.js';
import { scramLogin } from '../helpers/sasl-client.js';

export interface Codec {
  encodeRequest(w: Writer, version: number, request: any): void;
  decodeResponse(r: Reader, version: number): any;
  defaultRequest(): any;
}

/** The generated codec of an API, by its handler's name ("OffsetFetch"). */
export async function codecOf(apiName: string): Promise<Codec> {
  const file = apiName.replace(/[A-Z]/g, (m, i: number) => (i === 0 ? '' : '-') + m.toLowerCase());
  const source = path.resolve(import.meta.dirname, '../../protocol/generated/messages',
    `${file}.ts`);
  const m = await import(/* @vite-ignore */ source) as Record<string, unknown>;
  const pick = (name: string) => {
    const f = m[name];
    if (typeof f !== 'function') throw new Error(`${file}.ts has no ${name}`);
    return f as (...args: any[]) => any;
  };
  const factories = Object.entries(m)
    .filter(([k, f]) => k.startsWith(`default${apiName}Request`) && typeof f === 'function')
    .map(([, f]) => f as () => Record<string, unknown>);
  const encode = pick(`encode${apiName}Request`);
  return { encodeRequest: (w, version, request) => encode(w, version, withDefaults(request,
    factories)),
    decodeResponse: pick(`decode${apiName}Response`),
      defaultRequest: pick(`default${apiName}Request`) };
}

/**
 * Fills the fields a test left out with the generated defaults, at every depth: each object gets
 * the default of the request type whose fields best cover its own (so cases name only what they
 * mean, and a field absent at the version stays at its default).
 */
function withDefaults(value: unknown, factories: (() => Record<string, unknown>)[]): unknown {
  if (Array.isArray(value)) return value.map((v) => withDefaults(v, factories));
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const own = Object.keys(value);
  let best: Record<string, unknown> | null = null;
  for (const f of factories) {
    const d = f();
    if (!own.every((k) => k in d)) continue;
    if (best === null || Object.keys(d).length < Object.keys(best).length) best = d;
  }
  const filled: Record<string, unknown> = { ...best };
  for (const [k, v] of Object.entries(value)) filled[k] = withDefaults(v, factories);
  return filled;
}

export interface ScramLogin {
  mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  user: string;
  password: string;
}

export type Send = (apiName: string, version: number, request: any) => Promise<any>;

export interface MatrixBroker {
  broker: Broker;
  /** As `principal` through the dispatcher. */
  as(principal: string): Send;
  /** Over a TCP connection to the first listener: User:ANONYMOUS, or `login`'s user. */
  wire(login?: ScramLogin): Promise<{ send: Send; close(): void }>;
  stop(): Promise<void>;
}

function apiKeyOf(apiName: string): number {
  const h = HANDLERS.find((x) => x.name === apiName);
  if (h === undefined) throw new Error(`no handler ${apiName}`);
  return h.apiKey;
}

export async function startMatrixBroker(superUser: string,
  settings: Record<string, string> = {}): Promise<MatrixBroker> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-authz-'));
  const flags = { port: '0', dataDir, authorizerClassName: AUTHORIZER_CLASS_NAMES[0]!,
    superUsers: superUser, groupInitialRebalanceDelayMs: '0', logLevel: 'warn', logFormat: 'json',
    uploadIntervalMs: '50', ...settings };
  const broker = await Broker.start(loadConfig(Object.entries(flags).flatMap(([k, v]) =>
    [`--${k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`, v]), {}));
  const dispatcher = new Dispatcher(HANDLERS, broker.services, pino({ level: 'silent' }));
  let correlationId = 1;
  const as = (principal: string): Send => async (apiName, version, request) => {
    const [type, ...name] = principal.split(':');
    const session: ConnectionSession = { principal: { type: type!, name: name.join(':') },
      listenerName: 'PLAINTEXT', clientHost: '/127.0.0.1' };
    const codec = await codecOf(apiName);
    const apiKey = apiKeyOf(apiName);
    const frame = encodeRequestFrame(apiKey, version, correlationId++, 'matrix',
      (w) => codec.encodeRequest(w, version, request));
    const out = await dispatcher.dispatch(frame.subarray(4), session);
    if (!Array.isArray(out)) throw new Error(`${apiName} v${version}: no answer (${String(out)})`);
    const { body } = decodeResponseFrame(apiKey, version, Buffer.concat(out).subarray(4));
    return codec.decodeResponse(body, version);
  };
  const wire = async (login?: ScramLogin) => {
    const client = await RawClient.connect(broker.port);
    if (login !== undefined) {
      const res = await scramLogin(client, login.mechanism, login.user, login.password);
      if (res?.errorCode !== 0) throw new Error(`SCRAM login as ${login.user}: ${res?.errorCode}`);
    }
    const send: Send = async (apiName, version, request) => {
      const codec = await codecOf(apiName);
      const apiKey = apiKeyOf(apiName);
      client.send(apiKey, version, (w) => codec.encodeRequest(w, version, request));
      const frame = await client.readFrame();
      if (frame === null) {
        throw new Error(`${apiName} v${version}: the broker closed the connection`);
      }
      return codec.decodeResponse(decodeResponseFrame(apiKey, version, frame).body, version);
    };
    return { send, close: () => client.close() };
  };
  return { broker, as, wire, stop: async () => {
    await broker.stop();
    await rm(dataDir, { recursive: true, force: true });
  } };
}
