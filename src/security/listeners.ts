/**
 * Listeners as Kafka names them: `listeners` ("SASL_SSL://0.0.0.0:9094,PLAINTEXT://:9092"),
 * `advertised.listeners` (what clients are told, per listener name), and
 * `listener.security.protocol.map` ("INTERNAL:SASL_PLAINTEXT,…"; without it each of the four
 * protocol names is a listener name for itself). Parsing only: a bad value is a ConfigError
 * naming the setting, thrown before anything is opened.
 */
import { ConfigError } from '../config/config-error.js';

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

/** Most listeners a broker opens: each is a server socket and a line in every Metadata answer. */
export const LISTENERS_MAX = 16;

export interface ListenerSpec {
  /** Upper case, as Kafka normalizes it: "SASL_SSL", "INTERNAL". */
  name: string;
  protocol: SecurityProtocol;
  /** Address to bind ("0.0.0.0" for an empty host, as Kafka binds all interfaces). */
  host: string;
  port: number;
  /** What clients on this listener are told to connect to. */
  advertisedHost: string;
  advertisedPort: number;
}

export interface ListenerSettings {
  listeners: string;
  advertisedListeners: string;
  listenerSecurityProtocolMap: string;
  host: string;
  port: number;
  advertisedHost: string;
  advertisedPort: number;
}

interface Endpoint { name: string; host: string; port: number }

function parseEndpoint(setting: string, text: string): Endpoint {
  const m = /^([A-Za-z0-9_.-]+):\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]*):(\d{1,5})$/.exec(text);
  if (m === null) throw new ConfigError(setting, `"${text}" is not NAME://host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(setting,
    `port ${port} in "${text}" is outside [0, 65535]`);
  const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
  return { name: m[1]!.toUpperCase(), host, port };
}

function parseEndpoints(setting: string, text: string): Endpoint[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length > LISTENERS_MAX) throw new ConfigError(setting,
    `at most ${LISTENERS_MAX} listeners`);
  const endpoints = items.map((item) => parseEndpoint(setting, item));
  const names = new Set<string>();
  for (const e of endpoints) {
    if (names.has(e.name)) throw new ConfigError(setting, `listener name ${e.name} appears twice`);
    names.add(e.name);
  }
  return endpoints;
}

function parseProtocolMap(text: string): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>(SECURITY_PROTOCOLS.map((p) => [p, p]));
  if (text.trim() === '') return map;
  map.clear();
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const [name, protocol, extra] = item.split(':').map((s) => s.trim().toUpperCase());
    if (name === undefined || name === '' || protocol === undefined || extra !== undefined) {
      throw new ConfigError('listenerSecurityProtocolMap', `"${item}" is not NAME:PROTOCOL`);
    }
    if (!(SECURITY_PROTOCOLS as readonly string[]).includes(protocol)) {
      throw new ConfigError('listenerSecurityProtocolMap',
        `${protocol} is not one of ${SECURITY_PROTOCOLS.join(', ')}`);
    }
    map.set(name, protocol as SecurityProtocol);
  }
  return map;
}

/**
 * The listeners to open, first one first (its port is the one `port` and the "listening on" line
 * name). Without `listeners`, the one PLAINTEXT listener `host`, `port`, `advertisedHost` and
 * `advertisedPort` describe, as before listeners existed.
 */
export function parseListeners(s: ListenerSettings): ListenerSpec[] {
  const protocols = parseProtocolMap(s.listenerSecurityProtocolMap);
  const bound = s.listeners.trim() === ''
    ? [{ name: 'PLAINTEXT', host: s.host, port: s.port }]
    : parseEndpoints('listeners', s.listeners);
  if (bound.length === 0) throw new ConfigError('listeners', 'names no listener');
  if (s.listeners.trim() === '' && !protocols.has('PLAINTEXT')) protocols.set('PLAINTEXT',
    'PLAINTEXT');
  const advertised = new Map(parseEndpoints('advertisedListeners', s.advertisedListeners)
    .map((e) => [e.name, e]));
  for (const name of advertised.keys()) {
    if (!bound.some((b) => b.name === name)) {
      throw new ConfigError('advertisedListeners', `${name} is not one of the listeners`);
    }
  }
  const ports = new Set<number>();
  return bound.map((b, i) => {
    const protocol = protocols.get(b.name);
    if (protocol === undefined) {
      throw new ConfigError('listenerSecurityProtocolMap',
        `has no security protocol for listener ${b.name}`);
    }
    if (b.port !== 0 && ports.has(b.port)) throw new ConfigError('listeners',
      `port ${b.port} is used twice`);
    ports.add(b.port);
    const host = b.host === '' ? '0.0.0.0' : b.host;
    const first = i === 0;
    const ad = advertised.get(b.name);
    const fallbackHost = first && s.advertisedHost !== '' ? s.advertisedHost : host;
    const advertisedHost = ad !== undefined && ad.host !== '' ? ad.host
      : fallbackHost === '0.0.0.0' ? '127.0.0.1' : fallbackHost;
    const advertisedPort = ad?.port ?? (first && s.advertisedPort !== 0 ? s.advertisedPort :
      b.port);
    return { name: b.name, protocol, host, port: b.port, advertisedHost, advertisedPort };
  });
}

/** Advertised host and port by listener name, as a registration and Metadata carry them. */
export function advertisedListeners(listeners: readonly ListenerSpec[]): Record<string,
  { host: string; port: number }> {
  return Object.fromEntries(listeners.map((l) => [l.name, { host: l.advertisedHost,
    port: l.advertisedPort }]));
}

export function usesTls(protocol: SecurityProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL';
}

export function usesSasl(protocol: SecurityProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
}
