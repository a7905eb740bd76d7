/**
 * The client side of a SASL login, as a broker logs in to its peers' inter-broker listener:
 * SaslHandshake v1, then SaslAuthenticate v2 tokens: PLAIN (one token) or SCRAM (RFC 5802: the
 * client-first message, the proof, and the server's signature checked, so a peer that does not
 * know the credential is refused too). Failures throw BrokerRequestError naming the peer and why.
 */
import { randomBytes } from 'node:crypto';
import { ApiKey } from '../../protocol/generated/api-keys.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import * as SA from '../../protocol/generated/messages/sasl-authenticate.js';
import * as SH from '../../protocol/generated/messages/sasl-handshake.js';
import { type BrokerChannel, BrokerRequestError } from '../cluster/broker-channel.js';
import type { ScramMechanism } from '../metadata/records.js';
import { securityLimits } from '../limits.js';
import { constantTimeEqual, hash, hmac, saltedPassword, xor } from './scram.js';

export type InterBrokerMechanism = 'PLAIN' | ScramMechanism;

export interface SaslLogin {
  mechanism: InterBrokerMechanism;
  username: string;
  password: string;
}

export interface SaslClientLimits {
  clientId: string;
  answerMsMax: number;
}

const HANDSHAKE_VERSION = 1;
const AUTHENTICATE_VERSION = 2;
const ANSWER_BYTES_MAX = securityLimits.unauthenticatedFrameBytesMax;
const NONCE_BYTES = 24;

/** Logs in over `channel`; resolves once the peer accepted the credential. */
export async function saslLogin(channel: BrokerChannel, login: SaslLogin,
  limits: SaslClientLimits): Promise<void> {
  const refused = (why: string) => new BrokerRequestError(
    `${channel.server}: SASL ${login.mechanism} login as ${login.username} refused: ${why}`, false);
  const hs = await channel.request({ ...common(limits, 'SaslHandshake'),
    apiKey: ApiKey.SaslHandshake, version: HANDSHAKE_VERSION,
    encode: (w) => SH.encodeSaslHandshakeRequest(w, HANDSHAKE_VERSION,
      { ...SH.defaultSaslHandshakeRequest(), mechanism: login.mechanism }),
    decode: (r) => SH.decodeSaslHandshakeResponse(r, HANDSHAKE_VERSION) });
  if (hs.errorCode !== ErrorCode.NONE) {
    throw refused(`error ${hs.errorCode}; it offers ${hs.mechanisms.join(', ') || 'nothing'}`);
  }
  const send = async (token: Buffer): Promise<Buffer> => {
    const res = await channel.request({ ...common(limits, 'SaslAuthenticate'),
      apiKey: ApiKey.SaslAuthenticate, version: AUTHENTICATE_VERSION,
      encode: (w) => SA.encodeSaslAuthenticateRequest(w, AUTHENTICATE_VERSION,
        { ...SA.defaultSaslAuthenticateRequest(), authBytes: token }),
      decode: (r) => SA.decodeSaslAuthenticateResponse(r, AUTHENTICATE_VERSION) });
    if (res.errorCode !== ErrorCode.NONE) {
      throw refused(`error ${res.errorCode} (${res.errorMessage ?? 'no message'})`);
    }
    return res.authBytes;
  };
  if (login.mechanism === 'PLAIN') {
    await send(Buffer.from(`\u0000${login.username}\u0000${login.password}`, 'utf8'));
    return;
  }
  const why = await scramExchange(login.mechanism, login, send);
  if (why !== null) throw refused(why);
}

function common(limits: SaslClientLimits, name: string) {
  return { name, clientId: limits.clientId, connectMsMax: limits.answerMsMax,
    answerMsMax: limits.answerMsMax, answerBytesMax: ANSWER_BYTES_MAX };
}

/** RFC 5802's client; null once the server's signature checked out, else what was wrong. */
async function scramExchange(m: ScramMechanism, login: SaslLogin,
  send: (token: Buffer) => Promise<Buffer>): Promise<string | null> {
  const clientNonce = randomBytes(NONCE_BYTES).toString('base64');
  const bare = `n=${saslName(login.username)},r=${clientNonce}`;
  const serverFirst = (await send(Buffer.from(`n,,${bare}`, 'utf8'))).toString('utf8');
  const attrs = scramAttributes(serverFirst);
  const nonce = attrs.get('r');
  const salt = attrs.get('s');
  const iterations = Number(attrs.get('i'));
  if (nonce === undefined || !nonce.startsWith(clientNonce) || nonce === clientNonce) {
    return 'the server nonce does not extend ours';
  }
  if (salt === undefined || !Number.isSafeInteger(iterations)
    || iterations < securityLimits.scramIterationsMin
    || iterations > securityLimits.scramIterationsMax) {
    return `server-first message "${serverFirst.slice(0, 200)}" has no usable salt or iterations`;
  }
  const salted = await saltedPassword(m, login.password, Buffer.from(salt, 'base64'), iterations);
  const clientKey = hmac(m, salted, 'Client Key');
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const proof = xor(clientKey, hmac(m, hash(m, clientKey), authMessage));
  const serverFinal = (await send(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`,
    'utf8'))).toString('utf8');
  const signature = scramAttributes(serverFinal).get('v');
  const expected = hmac(m, hmac(m, salted, 'Server Key'), authMessage);
  if (signature === undefined || !constantTimeEqual(Buffer.from(signature, 'base64'), expected)) {
    return 'the server signature is wrong (the peer does not hold this credential)';
  }
  return null;
}

/** RFC 5802's saslname: "=" and "," escaped. */
function saslName(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function scramAttributes(message: string): Map<string, string> {
  return new Map(message.split(',').filter((kv) => kv.length >= 2 && kv[1] === '=')
    .map((kv) => [kv[0]!, kv.slice(2)]));
}
