/**
 * OAUTHBEARER against a JWKS the test generates with `jose` (RS256 key pair, JWKS in a file the
 * broker reads through sasl.oauthbearer.jwks.endpoint.url=file://…): Kafka's Java console
 * producer and consumer log in with a signed token (OAuthBearerLoginCallbackHandler reading it
 * from a file); bad tokens (malformed, expired, wrong audience or issuer, signed by another key,
 * unsigned as Kafka's default unsecured login sends) get Kafka's error challenge, then
 * SASL_AUTHENTICATION_FAILED, each logged once.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { describeRun, javaAvailable, kafkaJars, runKafkaTool } from '../helpers/kafka-tools.js';
import { freePort } from '../helpers/ports.js';
import { RawClient } from '../helpers/raw-client.js';
import { authenticate, handshake } from '../helpers/sasl-client.js';
import { type Certificates, makeCertificates } from '../helpers/security.js';

const HAVE_JAVA = javaAvailable();
const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'ledgerstream';
let dir: Certificates; // only its temp folder is used
let broker: BrokerProcess;
let saslPort: number;
let log = '';
let key: CryptoKey;
let strangerKey: CryptoKey;

async function token(claims: { sub?: string; aud?: string; iss?: string; expSeconds?: number },
  signer = key): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: claims.sub ?? 'svc-agent', scope: 'kafka' })
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
    .setIssuer(claims.iss ?? ISSUER).setAudience(claims.aud ?? AUDIENCE)
    .setIssuedAt(now - 5).setExpirationTime(now + (claims.expSeconds ?? 600))
    .sign(signer);
}

beforeAll(async () => {
  dir = await makeCertificates();
  const pair = await generateKeyPair('RS256', { extractable: true });
  key = pair.privateKey;
  strangerKey = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...await exportJWK(pair.publicKey), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const jwksFile = path.join(dir.dir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
  saslPort = await freePort();
  broker = await startBroker({ onOutput: (c) => { log += c; }, settings: {
    listeners: `PLAINTEXT://127.0.0.1:${await freePort()},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
    saslEnabledMechanisms: 'OAUTHBEARER,SCRAM-SHA-512',
    saslOauthbearerJwksEndpointUrl: pathToFileURL(jwksFile).href,
    saslOauthbearerExpectedAudience: AUDIENCE,
    saslOauthbearerExpectedIssuer: ISSUER,
    connectionFailedAuthenticationDelayMs: 50,
  } });
}, 120_000);
afterAll(async () => {
  await broker?.destroy();
  await dir?.cleanup();
});

function failures(): { reason: string; mechanism: string }[] {
  return log.split('\n').filter((l) => l.includes('"authentication":"failed"')).map((l) =>
    JSON.parse(l));
}

/** OAUTHBEARER over a bare connection: 'ok', or the failure message after Kafka's two steps. */
async function oauthLogin(jwt: string): Promise<string> {
  const c = await RawClient.connect(saslPort);
  try {
    expect((await handshake(c, 'OAUTHBEARER'))!.errorCode).toBe(0);
    const first = await authenticate(c, Buffer.from(`n,,\u0001auth=Bearer ${jwt}\u0001\u0001`));
    expect(first!.errorCode).toBe(0);
    if (first!.authBytes.length === 0) return `ok lifetime=${first!.sessionLifetimeMs}`;
    expect(JSON.parse(first!.authBytes.toString())).toEqual({ status: 'invalid_token' });
    const second = await authenticate(c, Buffer.from([1]));
    expect(second!.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(await c.waitClosed()).toBe(true);
    return second!.errorMessage ?? '';
  } finally {
    c.close();
  }
}

describe('tokens on a bare connection', () => {
  it('a valid token logs in; its session ends when the token expires', async () => {
    const result = await oauthLogin(await token({ expSeconds: 120 }));
    expect(result).toMatch(/^ok lifetime=\d+$/);
    const lifetimeMs = Number(result.split('=')[1]);
    expect(lifetimeMs).toBeGreaterThan(100_000);
    expect(lifetimeMs).toBeLessThanOrEqual(120_000);
  });

  const unsigned = () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: 'svc-agent', iss: ISSUER, aud: AUDIENCE, exp: now + 600 };
    return `${b64({ alg: 'none' })}.${b64(claims)}.`;
  };
  const cases: [string, () => Promise<string> | string, RegExp][] = [
    ['malformed', () => 'not.a.jwt', /invalid token/],
    ['expired', () => token({ expSeconds: -120 }), /"exp" claim timestamp check failed/],
    ['wrong audience', () => token({ aud: 'someone-else' }), /unexpected "aud" claim/],
    ['wrong issuer', () => token({ iss: 'https://evil.test' }), /unexpected "iss" claim/],
    ['signed by another key', () => token({}, strangerKey), /signature verification failed/],
    ['unsigned (alg none)', unsigned, /invalid token/],
  ];
  it.each(cases)('%s: refused, logged once', async (_name, make, reason) => {
    const before = failures().length;
    const message = await oauthLogin(await make());
    expect(message).toMatch(/^Authentication failed: invalid token/);
    await expect.poll(() => failures().length).toBe(before + 1);
    expect(failures().at(-1)).toMatchObject({ mechanism: 'OAUTHBEARER' });
    expect(failures().at(-1)!.reason).toMatch(reason);
  });
});

describe.skipIf(!HAVE_JAVA)('Java client', () => {
  it('produces and consumes with a signed token read from a file (OAuthBearerLoginCallbackHandler)',
    async () => {
    await kafkaJars();
    const tokenFile = path.join(dir.dir, 'token.jwt');
    await writeFile(tokenFile, await token({}));
    const props = path.join(dir.dir, 'oauth.properties');
    await writeFile(props, [
      'security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=OAUTHBEARER',
      'sasl.login.callback.handler.class='
        + 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler',
      `sasl.oauthbearer.token.endpoint.url=${pathToFileURL(tokenFile).href}`,
      'sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule ' +
        'required ;', ''].join('\n'));
    const jvmArgs =
      [`-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=${pathToFileURL(tokenFile).href}`];
    const run = async (tool: 'topics' | 'consoleProducer' | 'consoleConsumer', args: string[],
      input?: string) => {
      const r = await runKafkaTool(tool, ['--bootstrap-server', `127.0.0.1:${saslPort}`,
        '--command-config', props, ...args],
        { timeoutMs: 90_000, jvmArgs, ...(input !== undefined ? { input } : {}) });
      if (r.code !== 0) throw new Error(describeRun(r, log.slice(-5000)));
      return r;
    };
    await run('topics', ['--create', '--topic', 'oauth-java', '--partitions', '1']);
    await run('consoleProducer', ['--topic', 'oauth-java', '--command-property', 'acks=all'],
      'a\nb\n');
    const consumed = await run('consoleConsumer', ['--topic', 'oauth-java', '--from-beginning',
      '--max-messages', '2', '--timeout-ms', '30000']);
    expect(consumed.stdout.trim().split('\n')).toEqual(['a', 'b']);
    // The principal is the token's sub claim: the topic's creation is audited under it.
    expect(log).toMatch(/"api":"CreateTopics","principal":"User:svc-agent","listener":"SASL_PLAINTEXT"/);
  }, 240_000);

  it('Kafka\'s default unsecured login (alg none) is refused', async () => {
    const props = path.join(dir.dir, 'unsecured.properties');
    await writeFile(props, ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=OAUTHBEARER',
      'sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule ' +
        'required unsecuredLoginStringClaim_sub="svc-agent";', ''].join('\n'));
    const r = await runKafkaTool('topics', ['--bootstrap-server', `127.0.0.1:${saslPort}`,
      '--command-config', props, '--list'],
      { timeoutMs: 90_000 });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/invalid token/);
  }, 120_000);
});
