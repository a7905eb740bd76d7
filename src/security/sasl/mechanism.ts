/**
 * One SASL exchange on the server side: the client's tokens in, the server's challenges out,
 * until it completes with a principal or fails. One object per authentication attempt.
 */
import type { KafkaPrincipal } from '../principal.js';
import type { ScramCredentials } from '../../metadata/stores.js';
import type { OAuthTokenValidator } from './oauthbearer.js';

export type SaslStep =
  | { done: false; challenge: Buffer }
  | { done: true; challenge: Buffer; principal: KafkaPrincipal;
      /** When the credential itself expires (an OAUTHBEARER token's exp), else null. */
      credentialExpiresAtMs: number | null };

/**
 * A failed authentication. `clientMessage` is what the client is told (Kafka's wording, never
 * whether the user exists); `reason` is for the log line; `user` is who the client claimed to be.
 */
export class AuthenticationFailure extends Error {
  constructor(readonly clientMessage: string, readonly reason: string,
    readonly user: string | null = null) {
    super(reason);
  }
}

export interface SaslMechanismServer {
  readonly mechanism: string;
  evaluate(token: Buffer): Promise<SaslStep>;
}

/** What the mechanisms read: credentials, the OAUTHBEARER validator, and a secret for decoys. */
export interface SaslServices {
  credentials: ScramCredentials;
  oauth: OAuthTokenValidator | null;
  /** Random per process: derives unknown users' decoy salts, so they look like real users. */
  decoySecret: Buffer;
  nowMs(): number;
}

export function invalidCredentials(mechanism: string): string {
  // Kafka's SaslServerAuthenticator message, the same for a wrong password and an unknown user.
  return `Authentication failed during authentication due to invalid credentials with SASL ` +
    `mechanism ${mechanism}`;
}

export function userPrincipal(name: string): KafkaPrincipal {
  return { type: 'User', name };
}
