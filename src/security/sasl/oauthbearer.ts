/**
 * OAUTHBEARER (RFC 7628, KIP-255/KIP-768): the client's one message carries a JWT
 * (`n,[a=authzid],\x01auth=Bearer <jwt>\x01…\x01\x01`). The token is verified with `jose`
 * against the JWKS of `sasl.oauthbearer.jwks.endpoint.url` (https/http, refetched on an unknown
 * key id, or a file, re-read when it changes): signature, exp (required), nbf, issuer and
 * audience when configured. The principal is the claim `sasl.oauthbearer.sub.claim.name`. A
 * refused token is answered as Kafka does: a JSON error challenge, to which the client replies
 * with \x01, and then the failure.
 */
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey,
} from 'jose';
import { securityLimits } from '../../limits.js';
import {
  AuthenticationFailure, type SaslMechanismServer, type SaslServices, type SaslStep, userPrincipal,
} from './mechanism.js';

export interface OAuthSettings {
  saslOauthbearerJwksEndpointUrl: string;
  saslOauthbearerExpectedAudience: string[];
  saslOauthbearerExpectedIssuer: string;
  saslOauthbearerSubClaimName: string;
  saslOauthbearerClockSkewSeconds: number;
}

export class OAuthTokenValidator {
  private fileKeys: { stamp: string; keys: JWTVerifyGetKey } | null = null;
  private readonly remoteKeys: JWTVerifyGetKey | null;
  private readonly filePath: string | null;

  constructor(private readonly s: OAuthSettings) {
    const url = new URL(s.saslOauthbearerJwksEndpointUrl);
    this.filePath = url.protocol === 'file:' ? fileURLToPath(url) : null;
    this.remoteKeys = this.filePath !== null ? null : createRemoteJWKSet(url, {
      cooldownDuration: securityLimits.jwksCooldownMs,
        timeoutDuration: securityLimits.jwksFetchTimeoutMs });
    if (this.filePath !== null) this.keys(); // a missing or bad file stops start-up
  }

  /** The principal name and expiry of a valid token; throws with the reason otherwise. */
  async validate(token: string, nowMs: number): Promise<{ name: string; expiresAtMs: number }> {
    const { payload } = await jwtVerify(token, this.keys(), {
      currentDate: new Date(nowMs),
      clockTolerance: this.s.saslOauthbearerClockSkewSeconds,
      requiredClaims: ['exp'],
      ...(this.s.saslOauthbearerExpectedIssuer !== '' ?
        { issuer: this.s.saslOauthbearerExpectedIssuer } : {}),
      ...(this.s.saslOauthbearerExpectedAudience.length > 0 ?
        { audience: this.s.saslOauthbearerExpectedAudience } : {}),
    });
    const name = payload[this.s.saslOauthbearerSubClaimName];
    if (typeof name !== 'string' || name === '') {
      throw new Error(`the token has no ${this.s.saslOauthbearerSubClaimName} claim`);
    }
    return { name, expiresAtMs: payload.exp! * 1000 };
  }

  private keys(): JWTVerifyGetKey {
    if (this.remoteKeys !== null) return this.remoteKeys;
    const st = statSync(this.filePath!);
    const stamp = `${st.mtimeMs}:${st.size}`;
    if (this.fileKeys?.stamp !== stamp) {
      const jwks = JSON.parse(readFileSync(this.filePath!, 'utf8')) as JSONWebKeySet;
      this.fileKeys = { stamp, keys: createLocalJWKSet(jwks) };
    }
    return this.fileKeys.keys;
  }
}

/** The token of a client's initial response, and its authorization id. */
function parseInitialResponse(token: Buffer): { authzid: string; jwt: string } | null {
  const text = token.toString('utf8');
  const m = /^n,(a=[^,]*)?,\x01((?:[A-Za-z]+=[\x20-\x7e\t\r\n]*\x01)*)\x01$/.exec(text);
  if (m === null) return null;
  const auth = m[2]!.split('\x01').find((kv) => kv.startsWith('auth='));
  const bearer = auth === undefined ? null : /^auth=Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(auth);
  if (bearer === null || bearer === undefined) return null;
  return { authzid: m[1]?.slice(2) ?? '', jwt: bearer[1]! };
}

export class OAuthBearerServer implements SaslMechanismServer {
  readonly mechanism = 'OAUTHBEARER';
  private failed: AuthenticationFailure | null = null;
  private used = false;

  constructor(private readonly services: SaslServices) {}

  async evaluate(token: Buffer): Promise<SaslStep> {
    if (this.failed !== null) throw this.failed; // the client's \x01 after the error challenge
    if (this.used) throw new AuthenticationFailure('Authentication failed: unexpected message',
      'second OAUTHBEARER message');
    this.used = true;
    const validator = this.services.oauth;
    if (validator === null) throw new AuthenticationFailure('Authentication failed: OAUTHBEARER ' +
      'is not configured', 'no JWKS');
    if (token.length > securityLimits.oauthTokenBytesMax) return this.refuse('token too large',
      null);
    const parsed = parseInitialResponse(token);
    if (parsed === null) return this.refuse('malformed OAUTHBEARER client response', null);
    let result;
    try {
      result = await validator.validate(parsed.jwt, this.services.nowMs());
    } catch (err) {
      return this.refuse(`invalid token: ${(err as Error).message}`, null);
    }
    if (parsed.authzid !== '' && parsed.authzid !== result.name) {
      return this.refuse(`authorization id "${parsed.authzid}" differs from the token's principal`,
        result.name);
    }
    return { done: true, challenge: Buffer.alloc(0), principal: userPrincipal(result.name),
      credentialExpiresAtMs: result.expiresAtMs };
  }

  /** Kafka's answer to a bad token: an error challenge now, the failure on the client's reply. */
  private refuse(reason: string, user: string | null): SaslStep {
    this.failed = new AuthenticationFailure(`Authentication failed: ${reason}`, reason, user);
    return { done: false, challenge: Buffer.from(JSON.stringify({ status: 'invalid_token' }),
      'utf8') };
  }
}
