/**
 * Which listener brokers use to talk to each other, and how they log in there, from Kafka's
 * settings: `inter.broker.listener.name` or `security.inter.broker.protocol` (not both; the
 * listener named after the protocol), `sasl.mechanism.inter.broker.protocol` and
 * `listener.name.<listener>.<mechanism>.sasl.jaas.config` (the username and password the broker
 * logs in with). TLS uses the broker's own keystore (its certificate, sent when the peer asks)
 * and truststore (to check the peer's).
 *
 * With neither name set, Kafka's default applies (security.inter.broker.protocol=PLAINTEXT: the
 * listener named PLAINTEXT); a broker without one keeps what it did before these settings
 * existed, its first listener, when that listener is PLAINTEXT. Only a cluster (coordinator etcd)
 * talks to peers, so only there is a missing piece an error; a setting given but wrong is one
 * everywhere, as in Kafka.
 */
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../config/config-error.js';
import { type InterBrokerSecurity, PLAINTEXT_PEER } from '../cluster/broker-request.js';
import { type ListenerSpec, type SecurityProtocol, SECURITY_PROTOCOLS, usesSasl,
  usesTls } from './listeners.js';
import { ANONYMOUS, principalString } from './principal.js';
import { type InterBrokerMechanism, type SaslClientLimits, type SaslLogin,
  saslLogin } from './sasl-client.js';
import { type TlsSettings, tlsClientOptions } from './tls-context.js';
import { parseJaasLogin } from './jaas.js';

export interface InterBrokerSettings extends TlsSettings {
  interBrokerListenerName: string;
  securityInterBrokerProtocol: string;
  saslMechanismInterBrokerProtocol: string;
  /** `listener.name.<listener>.<mechanism>.sasl.jaas.config` by "<listener>.<mechanism>",
   *  lower case. */
  listenerSaslJaasConfig: Record<string, string>;
  saslEnabledMechanisms: string[];
  sslEndpointIdentificationAlgorithm: string;
}

export interface InterBrokerListener {
  listener: ListenerSpec;
  login: SaslLogin | null;
}

const MECHANISMS: readonly InterBrokerMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** Kafka's name of the JAAS setting for a listener and mechanism. */
export function jaasSettingName(listenerName: string, mechanism: string): string {
  return `listener.name.${listenerName.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
}

function namedListener(s: InterBrokerSettings, listeners: readonly ListenerSpec[],
  inCluster: boolean): ListenerSpec | null {
  const byName = s.interBrokerListenerName.trim().toUpperCase();
  const byProtocol = s.securityInterBrokerProtocol.trim().toUpperCase();
  const names = listeners.map((l) => l.name).join(', ');
  if (byName !== '' && byProtocol !== '') throw new ConfigError('interBrokerListenerName',
    'set it or securityInterBrokerProtocol (security.inter.broker.protocol), not both, as Kafka');
  if (byProtocol !== '' && !(SECURITY_PROTOCOLS as readonly string[]).includes(byProtocol)) {
    throw new ConfigError('securityInterBrokerProtocol',
      `${byProtocol} is not one of ${SECURITY_PROTOCOLS.join(', ')}`);
  }
  const wanted = byName !== '' ? byName : byProtocol;
  if (wanted !== '') {
    const found = listeners.find((l) => l.name === wanted);
    if (found === undefined) throw new ConfigError(byName !== '' ? 'interBrokerListenerName'
      : 'securityInterBrokerProtocol', `no listener is named ${wanted} (listeners: ${names})`);
    return found;
  }
  const first = listeners[0]!;
  const fallback = listeners.find((l) => l.name === 'PLAINTEXT')
    ?? (first.protocol === 'PLAINTEXT' ? first : null);
  if (fallback === null && inCluster) throw new ConfigError('interBrokerListenerName',
    `brokers of a cluster talk through one listener: none is PLAINTEXT (Kafka's default ` +
    `security.inter.broker.protocol), so name one of ${names}`);
  return fallback;
}

function loginOf(s: InterBrokerSettings, listener: ListenerSpec, inCluster: boolean):
  SaslLogin | null {
  const mechanism = s.saslMechanismInterBrokerProtocol.trim().toUpperCase();
  if (mechanism === '') {
    if (!inCluster) return null;
    throw new ConfigError('saslMechanismInterBrokerProtocol', `the inter-broker listener ` +
      `${listener.name} uses SASL: name ${MECHANISMS.join(', ')} (Kafka's default GSSAPI is ` +
      `not supported)`);
  }
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new ConfigError('saslMechanismInterBrokerProtocol', `${mechanism} between brokers is ` +
      `not supported: use ${MECHANISMS.join(', ')}`);
  }
  if (!s.saslEnabledMechanisms.includes(mechanism)) {
    throw new ConfigError('saslMechanismInterBrokerProtocol', `${mechanism} must be one of ` +
      `saslEnabledMechanisms (${s.saslEnabledMechanisms.join(', ')}), as in Kafka`);
  }
  const setting = jaasSettingName(listener.name, mechanism);
  const jaas = s.listenerSaslJaasConfig[`${listener.name}.${mechanism}`.toLowerCase()];
  if (jaas === undefined) {
    if (!inCluster) return null;
    throw new ConfigError(setting, `the broker logs in to its peers' ${listener.name} ` +
      `listener with this: …LoginModule required username="…" password="…";`);
  }
  try {
    return { mechanism: mechanism as InterBrokerMechanism, ...parseJaasLogin(jaas, mechanism) };
  } catch (err) {
    throw new ConfigError(setting, (err as Error).message);
  }
}

/**
 * The inter-broker listener and login; null when this broker has no peers to reach and nothing
 * names one. Throws a ConfigError naming the setting that is wrong or missing.
 */
export function interBrokerListener(s: InterBrokerSettings, listeners: readonly ListenerSpec[],
  inCluster: boolean): InterBrokerListener | null {
  const listener = namedListener(s, listeners, inCluster);
  if (listener === null) return null;
  const login = usesSasl(listener.protocol) ? loginOf(s, listener, inCluster) : null;
  if (usesTls(listener.protocol)) tlsClientOptions(s); // a bad keystore or truststore: now
  return { listener, login };
}

/** What the peers see this broker as on `protocol`, for messages. */
function principalOn(protocol: SecurityProtocol, login: SaslLogin | null): string {
  if (login !== null) return `User:${login.username}`;
  return protocol === 'SSL' ? 'the principal of this broker\'s certificate'
    : principalString(ANONYMOUS);
}

/** How the broker connects and logs in to its peers (broker-request.ts uses it). */
export function interBrokerSecurity(s: InterBrokerSettings, chosen: InterBrokerListener,
  limits: SaslClientLimits): InterBrokerSecurity {
  const { listener, login } = chosen;
  const tls: (() => ConnectionOptions) | null = usesTls(listener.protocol)
    ? () => tlsClientOptions(s) : null;
  return { listenerName: listener.name, principal: principalOn(listener.protocol, login), tls,
    login: login === null ? null : (channel) => saslLogin(channel, login, limits) };
}

/**
 * How this broker reaches its peers, built at start-up; on a broker whose settings name no
 * inter-broker listener (a single broker), plain TCP to the first listener, as before. Warns once
 * when ACLs are on and the principal peers see is not a super user: Kafka's brokers are, and
 * WriteTxnMarkers needs ClusterAction on the cluster.
 */
export function peerSecurityAtStart(s: InterBrokerSettings & { coordinator: string;
  authorizerClassName: string; superUsers: string }, listeners: readonly ListenerSpec[],
  limits: SaslClientLimits, log: { warn(fields: object, message: string): void }):
  InterBrokerSecurity {
  const chosen = interBrokerListener(s, listeners, s.coordinator === 'etcd');
  if (chosen === null) return { ...PLAINTEXT_PEER, listenerName: listeners[0]!.name };
  const security = interBrokerSecurity(s, chosen, limits);
  const superUsers = s.superUsers.split(';').map((p) => p.trim());
  if (s.coordinator === 'etcd' && s.authorizerClassName !== ''
    && !superUsers.includes(security.principal)) {
    log.warn({ interBrokerListener: security.listenerName, principal: security.principal },
      `brokers reach each other as ${security.principal}, which is not in superUsers: grant it ` +
      'ClusterAction on the cluster or transaction markers are refused');
  }
  return security;
}
