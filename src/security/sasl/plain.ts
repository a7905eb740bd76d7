/**
 * PLAIN (RFC 4616): one token, `authzid NUL authcid NUL password`. The password is checked
 * against the user's SCRAM credential (SCRAM-SHA-512, else SCRAM-SHA-256) by deriving StoredKey
 * from it with the stored salt and iterations: the broker holds no password to compare with. An
 * unknown user costs the same derivation (against a decoy) and gets the same answer.
 */
import { randomBytes } from 'node:crypto';
import { securityLimits } from '../../limits.js';
import { constantTimeEqual, credentialOf, saltedPassword } from '../scram.js';
import {
  AuthenticationFailure, invalidCredentials, type SaslMechanismServer, type SaslServices,
    type SaslStep,
  userPrincipal,
} from './mechanism.js';

export class PlainServer implements SaslMechanismServer {
  readonly mechanism = 'PLAIN';
  private used = false;

  constructor(private readonly services: SaslServices) {}

  async evaluate(token: Buffer): Promise<SaslStep> {
    if (this.used) throw new AuthenticationFailure('Authentication failed: unexpected PLAIN token',
      'second PLAIN token');
    this.used = true;
    const parts = token.toString('utf8').split('\u0000');
    if (parts.length !== 3) {
      throw new AuthenticationFailure('Authentication failed: Invalid SASL/PLAIN response: ' +
        'expected 3 tokens', 'malformed PLAIN token');
    }
    const [authzid, user, password] = parts as [string, string, string];
    const fieldMax = securityLimits.saslFieldBytesMax;
    if (user === '' || password === '' || user.length > fieldMax || password.length > fieldMax ||
      authzid.length > fieldMax) {
      throw new AuthenticationFailure('Authentication failed: username or password is empty or ' +
        'too long', 'bad PLAIN fields', user || null);
    }
    if (authzid !== '' && authzid !== user) {
      throw new AuthenticationFailure('Authentication failed: Client requested an authorization ' +
        'id that is different from username',
        `authorization id "${authzid}" differs from user`, user);
    }
    if (!(await this.passwordMatches(user, password))) {
      throw new AuthenticationFailure(invalidCredentials(this.mechanism),
        'wrong password or unknown user', user);
    }
    return { done: true, challenge: Buffer.alloc(0), principal: userPrincipal(user),
      credentialExpiresAtMs: null };
  }

  private async passwordMatches(user: string, password: string): Promise<boolean> {
    const { credentials } = this.services;
    const stored = await credentials.get(user, 'SCRAM-SHA-512') ?? await credentials.get(user,
      'SCRAM-SHA-256');
    if (stored === null) {
      // Same work as a real check, so the answer's timing does not tell whether the user exists.
      await saltedPassword('SCRAM-SHA-512', password, randomBytes(16),
        securityLimits.scramIterationsMin);
      return false;
    }
    const salted = await saltedPassword(stored.mechanism, password, stored.salt, stored.iterations);
    const derived = credentialOf(user, stored.mechanism, stored.salt, stored.iterations, salted);
    return constantTimeEqual(derived.storedKey, stored.storedKey);
  }
}
