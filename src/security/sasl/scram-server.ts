/**
 * SCRAM-SHA-256 and SCRAM-SHA-512, server side (RFC 5802, RFC 7677, as Kafka's ScramSaslServer):
 *
 *   client-first  n,[a=authzid],n=user,r=cnonce[,ext]
 *   server-first  r=cnonce+snonce,s=salt,i=iterations
 *   client-final  c=base64(gs2 header),r=cnonce+snonce,p=proof
 *   server-final  v=server signature
 *
 * No channel binding; an authorization id must equal the user; the client's final nonce must end
 * with the combined one (Kafka's check). An unknown user gets a decoy salt derived from a
 * per-process secret
 * and fails at the proof like a wrong password, so neither the answer nor its timing tells which.
 * The proof is compared in constant time.
 */
import { randomBytes } from 'node:crypto';
import type { ScramCredential, ScramMechanism } from '../../metadata/records.js';
import { securityLimits } from '../../limits.js';
import { SCRAM_HASHES, constantTimeEqual, hash, hmac, xor } from '../scram.js';
import {
  AuthenticationFailure, invalidCredentials, type SaslMechanismServer, type SaslServices,
    type SaslStep,
  userPrincipal,
} from './mechanism.js';

const PRINTABLE_NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

interface FirstMessage { gs2Header: string; user: string; clientNonce: string; bare: string }

function fail(mechanism: string, reason: string, user: string | null = null,
  clientMessage?: string): never {
  throw new AuthenticationFailure(clientMessage ?? `Authentication failed: ${reason}`, reason,
    user);
}

/** RFC 5802 saslname: "=2C" is ",", "=3D" is "=", any other "=" is malformed. */
function unescapeSaslName(mechanism: string, text: string): string {
  if (/=(?!2C|3D)/.test(text)) fail(mechanism, 'invalid username encoding');
  return text.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function parseFirst(mechanism: string, text: string): FirstMessage {
  const m = /^([^,]*),([^,]*),(.*)$/s.exec(text);
  if (m === null) fail(mechanism, 'invalid client-first message');
  const [, flag, authz, bare] = m as unknown as [string, string, string, string];
  if (flag.startsWith('p=')) fail(mechanism, 'channel binding is not supported');
  if (flag !== 'n' && flag !== 'y') fail(mechanism, 'invalid channel binding flag');
  if (authz !== '' && !authz.startsWith('a=')) fail(mechanism, 'invalid authorization id field');
  const fields = bare.split(',');
  const [userField, nonceField, ...extensions] = fields;
  if (userField === undefined || !userField.startsWith('n=')) fail(mechanism,
    'invalid client-first message: no username');
  if (nonceField === undefined || !nonceField.startsWith('r=')) fail(mechanism,
    'invalid client-first message: no nonce');
  const user = unescapeSaslName(mechanism, userField.slice(2));
  const clientNonce = nonceField.slice(2);
  if (user === '' || user.length > securityLimits.saslFieldBytesMax) fail(mechanism,
    'invalid username');
  if (!PRINTABLE_NONCE.test(clientNonce) || clientNonce.length > securityLimits.saslFieldBytesMax) {
    fail(mechanism, 'invalid client nonce', user);
  }
  for (const ext of extensions) {
    if (ext.startsWith('tokenauth=')) fail(mechanism, 'delegation tokens are not supported', user);
  }
  const authzid = authz === '' ? '' : unescapeSaslName(mechanism, authz.slice(2));
  if (authzid !== '' && authzid !== user) {
    fail(mechanism, `authorization id "${authzid}" differs from user`, user,
      'Authentication failed: Client requested an authorization id that is different from ' +
        'username');
  }
  return { gs2Header: `${flag},${authz},`, user, clientNonce, bare };
}

export class ScramServer implements SaslMechanismServer {
  private state: 'first' | 'final' | 'done' = 'first';
  private first: FirstMessage | null = null;
  private serverFirst = '';
  private nonce = '';
  private credential: ScramCredential | null = null;
  private known = false;

  constructor(readonly mechanism: ScramMechanism, private readonly services: SaslServices) {}

  async evaluate(token: Buffer): Promise<SaslStep> {
    if (token.length > securityLimits.saslFieldBytesMax * 2) fail(this.mechanism,
      'SCRAM message too long');
    const text = token.toString('utf8');
    if (this.state === 'first') return this.onClientFirst(text);
    if (this.state === 'final') return this.onClientFinal(text);
    return fail(this.mechanism, 'unexpected SCRAM message after the exchange completed');
  }

  private async onClientFirst(text: string): Promise<SaslStep> {
    const first = parseFirst(this.mechanism, text);
    this.first = first;
    const stored = await this.services.credentials.get(first.user, this.mechanism);
    this.known = stored !== null;
    this.credential = stored ?? this.decoy(first.user);
    this.nonce = first.clientNonce + randomBytes(24).toString('base64url');
    this.serverFirst =
      `r=${this.nonce},s=${this.credential.salt.toString('base64')},` +
      `i=${this.credential.iterations}`;
    this.state = 'final';
    return { done: false, challenge: Buffer.from(this.serverFirst, 'utf8') };
  }

  private async onClientFinal(text: string): Promise<SaslStep> {
    this.state = 'done';
    const first = this.first!;
    const credential = this.credential!;
    const m = /^c=([^,]*),r=([^,]*),(?:[^,]*,)*p=([A-Za-z0-9+/=]+)$/.exec(text);
    if (m === null) fail(this.mechanism, 'invalid client-final message', first.user);
    const [, binding, nonce, proofText] = m as unknown as [string, string, string, string];
    if (binding !== Buffer.from(first.gs2Header, 'utf8').toString('base64')) {
      fail(this.mechanism, 'channel binding does not match the client-first message', first.user);
    }
    // As Kafka's ScramSaslServer, the nonce must END with the combined one: librdkafka 2.0 sends
    // its client nonce twice ("r=" + cnonce + cnonce + snonce), and Kafka accepts that.
    if (!nonce.endsWith(this.nonce)) fail(this.mechanism,
      'Invalid client nonce in the final client message.', first.user);
    const proof = Buffer.from(proofText, 'base64');
    const withoutProof = text.slice(0, text.lastIndexOf(',p='));
    const authMessage = `${first.bare},${this.serverFirst},${withoutProof}`;
    const signature = hmac(this.mechanism, credential.storedKey, authMessage);
    const proofOk = proof.length === signature.length
      && constantTimeEqual(hash(this.mechanism, xor(proof, signature)), credential.storedKey);
    if (!proofOk || !this.known) {
      fail(this.mechanism, this.known ? 'wrong password' : 'unknown user', first.user,
        invalidCredentials(this.mechanism));
    }
    const serverSignature = hmac(this.mechanism, credential.serverKey, authMessage);
    return { done: true, challenge: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'),
      principal: userPrincipal(first.user), credentialExpiresAtMs: null };
  }

  /** A credential that no proof matches, with a salt stable per user (as a real one would be). */
  private decoy(user: string): ScramCredential {
    const bytes = SCRAM_HASHES[this.mechanism].keyBytes;
    return { user, mechanism: this.mechanism, iterations: securityLimits.scramIterationsMin,
      salt: hmac('SCRAM-SHA-256', this.services.decoySecret, `${this.mechanism}/${user}`),
      storedKey: randomBytes(bytes), serverKey: randomBytes(bytes) };
  }
}
