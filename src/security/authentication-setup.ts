/**
 * The broker's authentication, assembled at start-up: the audit of every failure (one log line
 * and a metric, whatever failed: SASL, a TLS handshake, a client certificate, a request before
 * authentication), the SCRAM users `scramBootstrapUsers` creates, and the one warning a broker
 * with unauthenticated listeners logs.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ScramCredentials } from '../metadata/stores.js';
import type { Metrics } from '../metrics.js';
import { securityLimits } from '../limits.js';
import type { ListenerSpec } from './listeners.js';
import { principalString } from './principal.js';
import type { AuthenticationEvents, AuthenticationFailureEvent } from './sasl-authenticator.js';
import { credentialOf, parseScramUserSpecs, saltedPassword } from './scram.js';

export function authenticationAudit(log: Logger, metrics: Metrics): AuthenticationEvents {
  return {
    failed(e: AuthenticationFailureEvent) {
      const mechanism = e.mechanism ?? 'none';
      metrics.authenticationFailures.inc({ listener: e.listenerName, mechanism });
      log.info({ authentication: 'failed', principal: e.user === null ? null : `User:${e.user}`,
        clientHost: e.clientHost, listener: e.listenerName, mechanism, api: e.api,
          reason: e.reason },
      'authentication failed');
    },
    succeeded(listenerName, mechanism, principal, reauthentication) {
      metrics.authentications.inc({ listener: listenerName, mechanism });
      log.debug({ listener: listenerName, mechanism, principal: principalString(principal),
        reauthentication },
        'authenticated');
    },
  };
}

/** A connection refused during the TLS handshake or for its client certificate. */
export function tlsRefusalAudit(events: AuthenticationEvents) {
  return (listener: ListenerSpec, clientHost: string, reason: string): void => {
    events.failed({ listenerName: listener.name, clientHost, mechanism: 'SSL', user: null,
      api: 'none', reason });
  };
}

/** Creates the configured bootstrap users that have no credential for that mechanism yet. */
export async function createBootstrapUsers(specText: string, credentials: ScramCredentials,
  log: Logger):
  Promise<void> {
  for (const spec of parseScramUserSpecs(specText)) {
    if (await credentials.get(spec.name, spec.mechanism) !== null) continue;
    const salt = randomBytes(securityLimits.scramSaltBytes);
    const salted = await saltedPassword(spec.mechanism, spec.password, salt, spec.iterations);
    await credentials.alter([credentialOf(spec.name, spec.mechanism, salt, spec.iterations,
      salted)], []);
    log.info({ user: spec.name, mechanism: spec.mechanism }, 'bootstrap SCRAM user created');
  }
}

/** One warning naming the listeners where anyone who reaches the port is User:ANONYMOUS. */
export function warnUnauthenticated(listeners: readonly ListenerSpec[],
  boundPorts: ReadonlyMap<string, number>,
  sslClientAuth: string, log: Logger): void {
  const open = listeners.filter((l) => l.protocol === 'PLAINTEXT' || (l.protocol === 'SSL' &&
    sslClientAuth !== 'required'));
  if (open.length === 0) return;
  log.warn({ listeners: open.map((l) =>
    `${l.name}://${l.host}:${boundPorts.get(l.name) ?? l.port}`) },
    'no authentication on these listeners: every client there is User:ANONYMOUS and, without ' +
      'ACLs, may do everything (see README "Security")');
}
