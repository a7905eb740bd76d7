/**
 * The security settings' checks at start-up (config.ts calls this from finish()): listeners,
 * mechanisms, TLS files, mapping rules, the JWKS location, bootstrap users. Each bad value is a
 * ConfigError naming the setting, before anything is opened.
 */
import { ConfigError } from '../config/config-error.js';
import { type ListenerSettings, type ListenerSpec, parseListeners, usesSasl,
  usesTls } from './listeners.js';
import { parseScramUserSpecs } from './scram.js';
import { PrincipalMappingError, parseMappingRules } from './ssl-principal.js';
import { type TlsSettings, protocolRange, tlsServerOptions } from './tls-context.js';
import type { OAuthSettings } from './sasl/oauthbearer.js';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;

export type SecuritySettings = ListenerSettings & TlsSettings & OAuthSettings & {
  saslEnabledMechanisms: string[];
  sslPrincipalMappingRules: string;
  scramBootstrapUsers: string;
  connectionFailedAuthenticationDelayMs: number;
  connectionsMaxIdleMs: number;
};

function checkSasl(s: SecuritySettings): void {
  for (const m of s.saslEnabledMechanisms) {
    if (!(SASL_MECHANISMS as readonly string[]).includes(m)) {
      const hint = m === 'GSSAPI' ? ' (Kerberos is not supported)' : '';
      throw new ConfigError('saslEnabledMechanisms',
        `${m} is not one of ${SASL_MECHANISMS.join(', ')}${hint}`);
    }
  }
  if (s.saslEnabledMechanisms.length === 0) throw new ConfigError('saslEnabledMechanisms',
    'a SASL listener needs at least one mechanism');
  if (s.saslEnabledMechanisms.includes('OAUTHBEARER')) {
    let url: URL;
    try {
      url = new URL(s.saslOauthbearerJwksEndpointUrl);
    } catch {
      throw new ConfigError('saslOauthbearerJwksEndpointUrl', `OAUTHBEARER needs a JWKS URL (https://, http:// or file:///), got "${s.saslOauthbearerJwksEndpointUrl}"`);
    }
    if (!['https:', 'http:', 'file:'].includes(url.protocol)) {
      throw new ConfigError('saslOauthbearerJwksEndpointUrl',
        `${url.protocol} is not https:, http: or file:`);
    }
  }
}

/** Checks every security setting; returns the listeners to open. */
export function checkSecuritySettings(s: SecuritySettings): ListenerSpec[] {
  const listeners = parseListeners(s);
  if (listeners.some((l) => usesSasl(l.protocol))) checkSasl(s);
  protocolRange(s);
  if (listeners.some((l) => usesTls(l.protocol))) tlsServerOptions(s);
  try {
    parseMappingRules(s.sslPrincipalMappingRules);
  } catch (err) {
    if (err instanceof PrincipalMappingError) throw new ConfigError('sslPrincipalMappingRules',
      err.message);
    throw err;
  }
  try {
    parseScramUserSpecs(s.scramBootstrapUsers);
  } catch (err) {
    throw new ConfigError('scramBootstrapUsers', (err as Error).message);
  }
  if (s.connectionFailedAuthenticationDelayMs >= s.connectionsMaxIdleMs) {
    throw new ConfigError('connectionFailedAuthenticationDelayMs',
      'must be less than connectionsMaxIdleMs, as in Kafka');
  }
  return listeners;
}
