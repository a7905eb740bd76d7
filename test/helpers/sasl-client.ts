/**
 * A SASL client over RawClient for tests that must send what real clients never do (a bad nonce,
 * a token before the handshake): SaslHandshake, SaslAuthenticate, a SCRAM login with hooks to
 * tamper with its messages, and the SCRAM credential admin APIs. SCRAM math is written here
 * from RFC 5802 with node:crypto, independently of the broker's.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import * as AU from '../../protocol/generated/messages/alter-user-scram-credentials.js';
import * as DU from '../../protocol/generated/messages/describe-user-scram-credentials.js';
import * as SA from '../../protocol/generated/messages/sasl-authenticate.js';
import * as SH from '../../protocol/generated/messages/sasl-handshake.js';
import { RawClient, responseBody } from './raw-client.js';

type Mechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
const DIGEST = { 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-512': 'sha512' } as const;
const BYTES = { 'SCRAM-SHA-256': 32, 'SCRAM-SHA-512': 64 } as const;
const WIRE = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 } as const;

export async function handshake(c: RawClient, mechanism: string, version =
  1): Promise<SH.SaslHandshakeResponse | null> {
  c.send(17, version, (w) => SH.encodeSaslHandshakeRequest(w, version,
    { ...SH.defaultSaslHandshakeRequest(), mechanism }));
  const frame = await c.readFrame();
  return frame === null ? null : SH.decodeSaslHandshakeResponse(responseBody(frame, 0), version);
}

export async function authenticate(c: RawClient, authBytes: Buffer, version =
  2): Promise<SA.SaslAuthenticateResponse | null> {
  c.send(36, version, (w) => SA.encodeSaslAuthenticateRequest(w, version,
    { ...SA.defaultSaslAuthenticateRequest(), authBytes }));
  const frame = await c.readFrame();
  return frame === null ? null : SA.decodeSaslAuthenticateResponse(responseBody(frame,
    version >= 2 ? 1 : 0), version);
}

export interface ScramTamper {
  /** Replaces the client-first message. */
  first?: (bare: string) => string;
  /** Replaces the nonce sent in the client-final message. */
  finalNonce?: (combined: string) => string;
}

/** A full SCRAM login; the last SaslAuthenticate answer (null if the broker closed first). */
export async function scramLogin(c: RawClient, mechanism: Mechanism, user: string, password: string,
  tamper: ScramTamper = {}): Promise<SA.SaslAuthenticateResponse | null> {
  const hs = await handshake(c, mechanism);
  if (hs === null || hs.errorCode !== 0) throw new Error(`handshake failed: ${hs?.errorCode}`);
  const clientNonce = randomBytes(18).toString('base64');
  const bare = `n=${user},r=${clientNonce}`;
  const first = tamper.first?.(bare) ?? `n,,${bare}`;
  const r1 = await authenticate(c, Buffer.from(first));
  if (r1 === null || r1.errorCode !== 0) return r1;
  const serverFirst = r1.authBytes.toString();
  const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
  const combined = attrs.r!;
  const salted = pbkdf2Sync(password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i),
    BYTES[mechanism], DIGEST[mechanism]);
  const clientKey = createHmac(DIGEST[mechanism], salted).update('Client Key').digest();
  const storedKey = createHash(DIGEST[mechanism]).update(clientKey).digest();
  const withoutProof = `c=biws,r=${tamper.finalNonce?.(combined) ?? combined}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const signature = createHmac(DIGEST[mechanism], storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  return authenticate(c, Buffer.from(`${withoutProof},p=${proof.toString('base64')}`));
}

/** PLAIN login; the SaslAuthenticate answer. */
export async function plainLogin(c: RawClient, user: string, password: string, authzid = ''):
  Promise<SA.SaslAuthenticateResponse | null> {
  const hs = await handshake(c, 'PLAIN');
  if (hs === null || hs.errorCode !== 0) throw new Error(`handshake failed: ${hs?.errorCode}`);
  return authenticate(c, Buffer.from(`${authzid}\u0000${user}\u0000${password}`));
}

export async function alterScramUser(port: number, user: string, mechanism: Mechanism,
  password: string,
  iterations = 4096): Promise<AU.AlterUserScramCredentialsResponse> {
  const c = await RawClient.connect(port);
  const salt = randomBytes(24);
  const saltedPassword = pbkdf2Sync(password, salt, iterations, BYTES[mechanism],
    DIGEST[mechanism]);
  c.send(51, 0, (w) => AU.encodeAlterUserScramCredentialsRequest(w, 0,
    { ...AU.defaultAlterUserScramCredentialsRequest(),
    upsertions: [{ ...AU.defaultAlterUserScramCredentialsRequestScramCredentialUpsertion(),
      name: user,
      mechanism: WIRE[mechanism], iterations, salt, saltedPassword }] }));
  const frame = await c.readFrame();
  c.close();
  return AU.decodeAlterUserScramCredentialsResponse(responseBody(frame!, 1), 0);
}

export async function describeScramUsers(port: number, users: string[] | null):
  Promise<DU.DescribeUserScramCredentialsResponse> {
  const c = await RawClient.connect(port);
  c.send(50, 0, (w) => DU.encodeDescribeUserScramCredentialsRequest(w, 0,
    { ...DU.defaultDescribeUserScramCredentialsRequest(),
    users: users?.map((name) => ({ name, unknownTaggedFields: undefined })) ?? null }));
  const frame = await c.readFrame();
  c.close();
  return DU.decodeDescribeUserScramCredentialsResponse(responseBody(frame!, 1), 0);
}
