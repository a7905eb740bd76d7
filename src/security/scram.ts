/**
 * SCRAM's arithmetic (RFC 5802, RFC 7677) shared by the SCRAM and PLAIN mechanisms and by
 * AlterUserScramCredentials: what is stored is the salt, the iteration count, StoredKey and
 * ServerKey, never the password or the salted password.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { ScramCredential, ScramMechanism } from '../metadata/records.js';
import { securityLimits } from '../limits.js';

const pbkdf2Async = promisify(pbkdf2);

interface ScramHash { digest: 'sha256' | 'sha512'; keyBytes: number; wireType: number }

export const SCRAM_HASHES: Readonly<Record<ScramMechanism, ScramHash>> = Object.freeze({
  'SCRAM-SHA-256': { digest: 'sha256', keyBytes: 32, wireType: 1 },
  'SCRAM-SHA-512': { digest: 'sha512', keyBytes: 64, wireType: 2 },
});

export const SCRAM_MECHANISM_NAMES = Object.keys(SCRAM_HASHES) as ScramMechanism[];

export function isScramMechanism(name: string): name is ScramMechanism {
  return name in SCRAM_HASHES;
}

/** The mechanism Kafka's ScramMechanism wire type (1, 2) names; null for 0 (UNKNOWN) or others. */
export function scramMechanismOfWireType(type: number): ScramMechanism | null {
  return SCRAM_MECHANISM_NAMES.find((m) => SCRAM_HASHES[m].wireType === type) ?? null;
}

export function hmac(m: ScramMechanism, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(SCRAM_HASHES[m].digest, key).update(data).digest();
}

export function hash(m: ScramMechanism, data: Buffer): Buffer {
  return createHash(SCRAM_HASHES[m].digest).update(data).digest();
}

/** Hi(password, salt, i) of RFC 5802: PBKDF2 off the event loop. */
export async function saltedPassword(m: ScramMechanism, password: string, salt: Buffer,
  iterations: number): Promise<Buffer> {
  assert.ok(iterations >= 1 && iterations <= securityLimits.scramIterationsMax * 16,
    `iterations ${iterations}`);
  return pbkdf2Async(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations,
    SCRAM_HASHES[m].keyBytes, SCRAM_HASHES[m].digest);
}

/** The stored form of a salted password. */
export function credentialOf(user: string, m: ScramMechanism, salt: Buffer, iterations: number,
  salted: Buffer): ScramCredential {
  assert.equal(salted.length, SCRAM_HASHES[m].keyBytes, 'salted password has the hash size');
  const clientKey = hmac(m, salted, 'Client Key');
  return { user, mechanism: m, salt, iterations, storedKey: hash(m, clientKey),
    serverKey: hmac(m, salted, 'Server Key') };
}

/** Equal contents, in time that depends only on the lengths (never on where they differ). */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a); // same work as a comparison, then false
    return false;
  }
  return timingSafeEqual(a, b);
}

export function xor(a: Buffer, b: Buffer): Buffer {
  assert.equal(a.length, b.length);
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Kafka's (and kafka-storage.sh's) `SCRAM-SHA-512=[name=admin,password=secret]` items. */
export interface ScramUserSpec {
  mechanism: ScramMechanism; name: string; password: string; iterations: number;
}

export function parseScramUserSpecs(text: string): ScramUserSpec[] {
  const specs: ScramUserSpec[] = [];
  const rest = text.replace(/(SCRAM-SHA-(?:256|512))=\[([^\]]*)\]/g, (_m, mech: string, body: string) => {
    const fields = new Map(body.split(',').map((kv) => {
      const eq = kv.indexOf('=');
      return [kv.slice(0, eq).trim(), kv.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')] as const;
    }));
    const name = fields.get('name');
    const password = fields.get('password');
    if (name === undefined || name === '' || password === undefined || password === '') {
      throw new Error(`"${mech}=[${body}]" needs name= and password=`);
    }
    const iterations = Number(fields.get('iterations') ?? securityLimits.scramIterationsMin);
    if (!Number.isSafeInteger(iterations) || iterations < securityLimits.scramIterationsMin
      || iterations > securityLimits.scramIterationsMax) {
      throw new Error(`iterations of ${name} must be in [${securityLimits.scramIterationsMin}, ` +
        `${securityLimits.scramIterationsMax}]`);
    }
    specs.push({ mechanism: mech as ScramMechanism, name, password, iterations });
    return '';
  });
  if (rest.replace(/[\s,;]/g, '') !== '') throw new Error(`cannot parse "${rest.trim()}"`);
  return specs;
}
