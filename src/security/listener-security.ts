/**
 * What each listener does to a new connection before its first request: TLS (SSL, SASL_SSL) with
 * the client certificate checked as `ssl.client.auth` says and mapped to a principal on SSL
 * listeners; a SASL exchange on SASL listeners; nothing on PLAINTEXT. Also keeps the TLS context
 * fresh: the keystore and truststore files are checked every sslFilesCheckIntervalMs and new
 * connections get the renewed certificates (connections already open keep theirs).
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket, TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { ConnectionSecurity } from '../broker/connection.js';
import type { ScramCredentials } from '../metadata/stores.js';
import { type ListenerSpec, usesSasl, usesTls } from './listeners.js';
import { ANONYMOUS, type ConnectionSession, type KafkaPrincipal } from './principal.js';
import {
  type AuthenticationEvents, SaslAuthenticator, type SaslSettings,
} from './sasl-authenticator.js';
import type { SaslServices } from './sasl/mechanism.js';
import { OAuthTokenValidator } from './sasl/oauthbearer.js';
import type { SecuritySettings } from './security-settings.js';
import { mapSubject, parseMappingRules, rfc2253Subject } from './ssl-principal.js';
import { tlsFileStamps, tlsServerOptions } from './tls-context.js';

export class ListenerSecurity {
  private readonly saslServices: SaslServices;
  private readonly saslSettings: SaslSettings;
  private readonly mappingRules;
  private tlsOptionsNow: TlsOptions | null;
  private tlsStamp: string;
  private reloadTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly s: SecuritySettings
      & { sslFilesCheckIntervalMs: number; connectionsMaxReauthMs: number },
    listeners: readonly ListenerSpec[], credentials: ScramCredentials,
    private readonly events: AuthenticationEvents, private readonly log: Logger) {
    const oauth = listeners.some((l) => usesSasl(l.protocol)) &&
      s.saslEnabledMechanisms.includes('OAUTHBEARER')
      ? new OAuthTokenValidator(s) : null;
    this.saslServices = { credentials, oauth, decoySecret: randomBytes(32), nowMs: Date.now };
    this.saslSettings = { enabledMechanisms: s.saslEnabledMechanisms,
      reauthMs: s.connectionsMaxReauthMs,
      failedDelayMs: s.connectionFailedAuthenticationDelayMs };
    this.mappingRules = parseMappingRules(s.sslPrincipalMappingRules);
    const tls = listeners.some((l) => usesTls(l.protocol));
    this.tlsOptionsNow = tls ? tlsServerOptions(s) : null;
    this.tlsStamp = tls ? tlsFileStamps(s) : '';
  }

  /** The TLS server options now (null when no listener uses TLS). */
  get tlsOptions(): TlsOptions | null {
    return this.tlsOptionsNow;
  }

  /**
   * How a connection accepted on `listener` starts, or why it is refused (a TLS client
   * certificate missing where required, not chaining to the truststore, or matching no rule).
   */
  forConnection(listener: ListenerSpec, socket: Socket): ConnectionSecurity | string {
    let principal: KafkaPrincipal = ANONYMOUS;
    if (usesTls(listener.protocol)) {
      const checked = this.clientCertificatePrincipal(socket as TLSSocket);
      if (typeof checked === 'string') return checked;
      if (listener.protocol === 'SSL' && checked !== null) principal = checked;
    }
    const sasl = usesSasl(listener.protocol)
      ? (session: ConnectionSession) => new SaslAuthenticator(session, this.saslServices,
        this.saslSettings, this.events)
      : null;
    return { listenerName: listener.name, principal, sasl };
  }

  /** The certificate's principal, null without one, or the reason it is refused. */
  private clientCertificatePrincipal(socket: TLSSocket): KafkaPrincipal | null | string {
    if (this.s.sslClientAuth === 'none') return null;
    const cert = socket.getPeerX509Certificate();
    if (cert === undefined) {
      return this.s.sslClientAuth === 'required' ?
        'no client certificate (ssl.client.auth=required)' : null;
    }
    if (!socket.authorized) return `client certificate refused: ` +
      `${String(socket.authorizationError)}`;
    try {
      return { type: 'User', name: mapSubject(this.mappingRules, rfc2253Subject(cert)) };
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** Checks the TLS files every sslFilesCheckIntervalMs; `apply` gets the new options. */
  watchTlsFiles(apply: (options: TlsOptions) => void): void {
    if (this.tlsOptionsNow === null) return;
    this.reloadTimer = setInterval(() => {
      const stamp = tlsFileStamps(this.s);
      if (stamp === this.tlsStamp) return;
      this.tlsStamp = stamp; // a file that cannot be loaded is reported once per change
      try {
        const options = tlsServerOptions(this.s);
        this.tlsOptionsNow = options;
        apply(options);
        this.log.info('TLS keystore or truststore changed on disk: new connections use it');
      } catch (err) {
        this.log.warn({ err },
          'TLS files changed but cannot be loaded; still serving the previous ones');
      }
    }, this.s.sslFilesCheckIntervalMs);
    this.reloadTimer.unref();
  }

  stop(): void {
    clearInterval(this.reloadTimer);
  }
}
