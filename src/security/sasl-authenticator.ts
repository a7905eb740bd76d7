/**
 * One SASL listener connection's authentication, as Kafka's SaslServerAuthenticator:
 *
 *   state        accepts                                       then
 *   handshake    ApiVersions, SaslHandshake v1                 authenticate
 *                SaslHandshake v0                              raw (unframed tokens, old clients)
 *   authenticate SaslAuthenticate until the mechanism is done  complete
 *   raw          size-prefixed SASL tokens without a header    complete
 *   complete     everything; SaslHandshake starts re-authentication (KIP-368)
 *
 * Anything else closes the connection. Every failure is reported once (log line and metric, by
 * the events given), answered after `failedDelayMs` as Kafka's
 * connection.failed.authentication.delay.ms, and the connection is closed after the answer. A
 * session lasts `reauthMs` (connections.max.reauth.ms; capped by an OAUTHBEARER token's expiry);
 * past that, any request but a re-authentication closes the connection.
 */
import assert from 'node:assert/strict';
import { ApiKey } from '../../protocol/generated/api-keys.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { type ConnectionSession, type KafkaPrincipal, principalString } from './principal.js';
import {
  AuthenticationFailure, type SaslMechanismServer, type SaslServices, type SaslStep,
} from './sasl/mechanism.js';
import { OAuthBearerServer } from './sasl/oauthbearer.js';
import { PlainServer } from './sasl/plain.js';
import { ScramServer } from './sasl/scram-server.js';
import { isScramMechanism } from './scram.js';

export interface AuthenticationFailureEvent {
  listenerName: string;
  clientHost: string;
  mechanism: string | null;
  /** Who the client claimed to be, when it got that far. */
  user: string | null;
  api: string;
  reason: string;
}

export interface AuthenticationEvents {
  failed(event: AuthenticationFailureEvent): void;
  succeeded(listenerName: string, mechanism: string, principal: KafkaPrincipal,
    reauthentication: boolean): void;
}

export interface SaslSettings {
  enabledMechanisms: readonly string[];
  /** connections.max.reauth.ms; 0: sessions do not expire. */
  reauthMs: number;
  failedDelayMs: number;
}

export interface AuthenticateAnswer {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
  sessionLifetimeMs: number;
}

type State = 'handshake' | 'authenticate' | 'raw' | 'complete';

export function newMechanismServer(mechanism: string, services: SaslServices): SaslMechanismServer {
  if (mechanism === 'PLAIN') return new PlainServer(services);
  if (mechanism === 'OAUTHBEARER') return new OAuthBearerServer(services);
  assert.ok(isScramMechanism(mechanism), `mechanism ${mechanism}`);
  return new ScramServer(mechanism, services);
}

export class SaslAuthenticator {
  private state: State = 'handshake';
  private server: SaslMechanismServer | null = null;
  /** The mechanism of the first authentication: re-authentication must use it again. */
  private mechanism: string | null = null;
  private authenticatedOnce = false;
  private sessionExpiresAtMs: number | null = null;
  private closeReason: string | null = null;

  constructor(private readonly session: ConnectionSession, private readonly services: SaslServices,
    private readonly settings: SaslSettings, private readonly events: AuthenticationEvents) {}

  /** Authenticated at least once: the connection may send any request (while the session lasts). */
  get authenticated(): boolean {
    return this.authenticatedOnce;
  }

  /** The next frames are unframed SASL tokens (after a SaslHandshake v0). */
  get expectsRawToken(): boolean {
    return this.state === 'raw';
  }

  /** Why the connection must close instead of handling this request, or null. */
  refusal(apiKey: number, nowMs: number): string | null {
    if (apiKey === ApiKey.ApiVersions || apiKey === ApiKey.SaslHandshake ||
      apiKey === ApiKey.SaslAuthenticate) {
      return null;
    }
    if (!this.authenticatedOnce) return 'request before authentication completed';
    if (this.sessionExpiresAtMs !== null && nowMs >= this.sessionExpiresAtMs) {
      return 'session expired without re-authentication (connections.max.reauth.ms)';
    }
    return null;
  }

  /** Reports a refused request and waits the failed-authentication delay before the close. */
  async refuse(reason: string, api: string): Promise<void> {
    if (!this.authenticatedOnce) this.reportFailure(reason, api, null);
    await this.delay();
  }

  /** The reason to close the connection once the current answer is sent (then cleared). */
  takeCloseReason(): string | null {
    const reason = this.closeReason;
    this.closeReason = null;
    return reason;
  }

  async handshake(mechanism: string,
    version: number): Promise<{ errorCode: number; mechanisms: string[] }> {
    const mechanisms = [...this.settings.enabledMechanisms];
    const reauth = this.state === 'complete';
    if (this.state !== 'handshake' && !(reauth && version >= 1)) {
      return this.failHandshake(ErrorCode.ILLEGAL_SASL_STATE,
        `SaslHandshake v${version} in state ${this.state}`, mechanism, mechanisms);
    }
    if (!mechanisms.includes(mechanism)) {
      return this.failHandshake(ErrorCode.UNSUPPORTED_SASL_MECHANISM,
        `unsupported mechanism "${mechanism.slice(0, 64)}"`, mechanism, mechanisms);
    }
    if (reauth && mechanism !== this.mechanism) {
      return this.failHandshake(ErrorCode.ILLEGAL_SASL_STATE,
        `re-authentication with ${mechanism} after ${this.mechanism}`, mechanism, mechanisms);
    }
    this.mechanism = mechanism;
    this.server = newMechanismServer(mechanism, this.services);
    this.state = version === 0 ? 'raw' : 'authenticate';
    return { errorCode: ErrorCode.NONE, mechanisms };
  }

  async authenticate(authBytes: Buffer, version: number): Promise<AuthenticateAnswer> {
    if (this.state !== 'authenticate' || this.server === null) {
      const reason = `SaslAuthenticate v${version} before SaslHandshake`;
      await this.fail(reason, 'SaslAuthenticate', null);
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: `Unexpected SaslAuthenticate: ${reason}`,
        authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
    }
    try {
      const step = await this.server.evaluate(authBytes);
      const lifetimeMs = step.done ? this.complete(step) : 0;
      return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: step.challenge,
        sessionLifetimeMs: lifetimeMs };
    } catch (err) {
      if (!(err instanceof AuthenticationFailure)) throw err;
      await this.fail(err.reason, 'SaslAuthenticate', err.user);
      return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: err.clientMessage,
        authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
    }
  }

  /** One unframed token after SaslHandshake v0: the challenge to send, or null (then close). */
  async rawToken(token: Buffer): Promise<Buffer | null> {
    assert.ok(this.state === 'raw' && this.server !== null,
      'raw tokens only after SaslHandshake v0');
    try {
      const step = await this.server.evaluate(token);
      if (step.done) this.complete(step);
      return step.challenge;
    } catch (err) {
      if (!(err instanceof AuthenticationFailure)) throw err;
      await this.fail(err.reason, 'SaslAuthenticate (v0 unframed)', err.user);
      return null;
    }
  }

  /** Sets the principal; returns the session lifetime to tell the client (0: unlimited). */
  private complete(step: Extract<SaslStep, { done: true }>): number {
    const reauth = this.authenticatedOnce;
    if (reauth && principalString(step.principal) !== principalString(this.session.principal)) {
      throw new AuthenticationFailure('Authentication failed: cannot change principal during ' +
        're-authentication',
        `re-authenticated as ${principalString(step.principal)}`, step.principal.name);
    }
    const nowMs = this.services.nowMs();
    const limits = [this.settings.reauthMs > 0 ? nowMs + this.settings.reauthMs : null,
      step.credentialExpiresAtMs]
      .filter((t): t is number => t !== null);
    this.sessionExpiresAtMs = limits.length === 0 ? null : Math.min(...limits);
    this.session.principal = step.principal;
    this.authenticatedOnce = true;
    this.state = 'complete';
    this.server = null;
    this.events.succeeded(this.session.listenerName, this.mechanism!, step.principal, reauth);
    return this.sessionExpiresAtMs === null ? 0 : Math.max(1, this.sessionExpiresAtMs - nowMs);
  }

  private async failHandshake(errorCode: number, reason: string, mechanism: string,
    mechanisms: string[]):
    Promise<{ errorCode: number; mechanisms: string[] }> {
    await this.fail(reason, 'SaslHandshake', null, mechanism);
    return { errorCode, mechanisms };
  }

  private async fail(reason: string, api: string, user: string | null, mechanism =
    this.mechanism): Promise<void> {
    this.reportFailure(reason, api, user, mechanism);
    this.closeReason = `authentication failed: ${reason}`;
    this.state = 'handshake';
    this.server = null;
    await this.delay();
  }

  /** Reports a failure the connection saw itself (an oversized frame before authentication). */
  report(reason: string, api: string): void {
    this.reportFailure(reason, api, null);
  }

  private reportFailure(reason: string, api: string, user: string | null, mechanism =
    this.mechanism): void {
    this.events.failed({ listenerName: this.session.listenerName,
      clientHost: this.session.clientHost,
      mechanism, user, api, reason });
  }

  private delay(): Promise<void> {
    const ms = this.settings.failedDelayMs;
    return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
  }
}
