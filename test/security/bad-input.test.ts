/**
 * Authentication under bad input, against a broker process with SASL_PLAINTEXT, SSL and PLAINTEXT
 * listeners: every case gets Kafka's error or a closed connection, is logged once (one
 * "authentication failed" line naming listener, mechanism and reason), and the broker keeps
 * serving a good login afterwards. Also the unframed SaslHandshake v0 flow, session lifetime and
 * re-authentication (KIP-368), the SCRAM credential admin APIs' refusals, and 1,000 failed
 * logins without a crash or memory growth.
 */
import { readFile } from 'node:fs/promises';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import * as MD from '../../protocol/generated/messages/metadata.js';
import { RawClient } from '../helpers/raw-client.js';
import {
  alterScramUser, authenticate, describeScramUsers, handshake, plainLogin, scramLogin,
} from '../helpers/sasl-client.js';
import { ALICE, type Certificates, type SecureBroker, makeCertificates,
  startSecureBroker } from '../helpers/security.js';
import { constantTimeEqual } from '../../src/security/scram.js';

const DELAY_MS = 100;
const REAUTH_MS = 3000;
let certs: Certificates;
let sb: SecureBroker;
let log = '';
const port = (listener: keyof SecureBroker['address']) =>
  Number(sb.address[listener].split(':')[1]);

beforeAll(async () => {
  certs = await makeCertificates();
  sb = await startSecureBroker(certs, { connectionFailedAuthenticationDelayMs: DELAY_MS,
    connectionsMaxReauthMs: REAUTH_MS },
    { onOutput: (chunk) => { log += chunk; } });
}, 120_000);
afterAll(async () => {
  await sb?.broker.destroy();
  await certs?.cleanup();
});

interface FailureLine {
  reason: string; mechanism: string; listener: string; principal: string | null; api: string;
}

function failures(): FailureLine[] {
  return log.split('\n').filter((l) => l.includes('"authentication":"failed"')).map((l) =>
    JSON.parse(l));
}

/** Runs `attempt`, then expects exactly one new failure line matching `reason`, and a good login
 * still works. */
async function expectOneFailure(reason: RegExp, attempt: () => Promise<void>): Promise<void> {
  const before = failures().length;
  await attempt();
  await expect.poll(() => failures().length).toBe(before + 1);
  expect(failures().at(-1)!.reason).toMatch(reason);
  const c = await RawClient.connect(port('SASL_PLAINTEXT'));
  expect((await scramLogin(c, 'SCRAM-SHA-512', ALICE.user,
    ALICE.password))!.errorCode).toBe(ErrorCode.NONE);
  c.close();
}

async function metadata(c: RawClient): Promise<Buffer | null> {
  c.send(3, 9, (w) => MD.encodeMetadataRequest(w, 9, { ...MD.defaultMetadataRequest(),
    topics: [] }));
  return c.readFrame(5000);
}

describe('wrong credentials', () => {
  it.each(['PLAIN', 'SCRAM-SHA-256',
    'SCRAM-SHA-512'] as const)('%s: a wrong password and an unknown user get the same answer, ' +
      'after the delay, then a close', async (mechanism) => {
    for (const user of [ALICE.user, 'nobody']) {
      await expectOneFailure(/wrong password|unknown user/, async () => {
        const c = await RawClient.connect(port('SASL_PLAINTEXT'));
        const started = Date.now();
        const res = mechanism === 'PLAIN' ? await plainLogin(c, user, 'wrong')
          : await scramLogin(c, mechanism, user, 'wrong');
        expect(Date.now() - started).toBeGreaterThanOrEqual(DELAY_MS - 5);
        expect(res!.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
        expect(res!.errorMessage).toBe(`Authentication failed during authentication due to ` +
          `invalid credentials with SASL mechanism ${mechanism}`);
        expect(await c.waitClosed()).toBe(true);
      });
    }
  });

  it('an authorization id other than the login id is refused (PLAIN and SCRAM)', async () => {
    await expectOneFailure(/authorization id/, async () => {
      const c = await RawClient.connect(port('SASL_PLAINTEXT'));
      const res = await plainLogin(c, ALICE.user, ALICE.password, 'admin');
      expect(res!.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
      expect(res!.errorMessage).toMatch(/authorization id that is different from username/);
    });
    await expectOneFailure(/authorization id/, async () => {
      const c = await RawClient.connect(port('SASL_PLAINTEXT'));
      const res = await scramLogin(c, 'SCRAM-SHA-512', ALICE.user, ALICE.password,
        { first: (bare) => `n,a=admin,${bare}` });
      expect(res!.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    });
  });

  it('a SCRAM client-final message with a nonce not ending with the server\'s is refused',
    async () => {
    await expectOneFailure(/nonce/, async () => {
      const c = await RawClient.connect(port('SASL_PLAINTEXT'));
      const res = await scramLogin(c, 'SCRAM-SHA-512', ALICE.user, ALICE.password,
        { finalNonce: (n) => `${n}x` });
      expect(res!.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
      expect(await c.waitClosed()).toBe(true);
    });
    await expectOneFailure(/nonce/, async () => {
      const c = await RawClient.connect(port('SASL_PLAINTEXT'));
      const res = await scramLogin(c, 'SCRAM-SHA-256', ALICE.user, ALICE.password, { first: () =>
        'n,,n=alice,r=' });
      expect(res!.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    });
  });

  it('compares secrets in constant time (node:crypto timingSafeEqual, lengths first)', () => {
    expect(constantTimeEqual(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
    expect(constantTimeEqual(Buffer.from('abc'), Buffer.from('abd'))).toBe(false);
    expect(constantTimeEqual(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
  });
});

describe('protocol misuse before authentication', () => {
  it('an unknown mechanism: UNSUPPORTED_SASL_MECHANISM with the enabled ones, then a close',
    async () => {
    await expectOneFailure(/unsupported mechanism "GSSAPI"/, async () => {
      const c = await RawClient.connect(port('SASL_PLAINTEXT'));
      const res = await handshake(c, 'GSSAPI');
      expect(res).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
        mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] });
      expect(await c.waitClosed()).toBe(true);
    });
  });

  it('SaslAuthenticate before SaslHandshake: ILLEGAL_SASL_STATE, then a close', async () => {
    await expectOneFailure(/before SaslHandshake/, async () => {
      const c = await RawClient.connect(port('SASL_PLAINTEXT'));
      const res = await authenticate(c, Buffer.from('\u0000alice\u0000alice-secret'));
      expect(res!.errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
      expect(await c.waitClosed()).toBe(true);
    });
  });

  it('any other API before authentication completes closes the connection unanswered', async () => {
    await expectOneFailure(/before authentication/, async () => {
      const c = await RawClient.connect(port('SASL_PLAINTEXT'));
      expect(await metadata(c)).toBeNull();
    });
    await expectOneFailure(/before authentication/, async () => {
      const c = await RawClient.connect(port('SASL_PLAINTEXT'));
      await handshake(c, 'PLAIN'); // a handshake alone is not authentication
      expect(await metadata(c)).toBeNull();
    });
  });

  it('a frame over 512 KiB before authentication closes the connection before it is read',
    async () => {
    await expectOneFailure(/frame of 600000 bytes before authentication/, async () => {
      const c = await RawClient.connect(port('SASL_PLAINTEXT'));
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(600_000);
      c.write(prefix);
      expect(await c.waitClosed()).toBe(true);
    });
  });
});

describe('TLS listener', () => {
  const tlsTry = (options: { garbage?: Buffer; cert?: boolean }) => new Promise<string>((resolve) =>
    {
    void (async () => {
      const [ca, key, cert] = await Promise.all([certs.caCert, certs.strangerPem,
        certs.strangerPem].map((f) => readFile(f, 'utf8')));
      const s = tlsConnect({ host: '127.0.0.1', port: port('SSL'), ca, ...(options.cert ? { key,
        cert } : {}), servername: 'localhost' });
      s.on('secureConnect', () => s.write(Buffer.from([0, 0, 0, 8, 0, 18, 0, 0, 0, 0, 0, 1])));
      s.on('error', (err) => resolve(`error: ${err.message}`));
      s.on('close', () => resolve('closed'));
      s.on('data', () => {});
    })();
  });

  it('TLS garbage and plaintext Kafka requests sent to a TLS port close the connection, logged ' +
    'once each', async () => {
    for (const bytes of [Buffer.from('\u0016\u0003\u0001garbage-garbage-garbage'), Buffer.from([0,
      0, 0, 14, 0, 18, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])]) {
      await expectOneFailure(/TLS handshake failed/, async () => {
        const c = await RawClient.connect(port('SSL'));
        c.write(bytes);
        expect(await c.waitClosed()).toBe(true);
      });
    }
  });

  it('a client certificate from an untrusted CA is refused', async () => {
    await expectOneFailure(/client certificate refused/, async () => {
      expect(await tlsTry({ cert: true })).toMatch(/closed|error/);
    });
  });
});

describe('sessions', () => {
  it('the unframed SaslHandshake v0 flow of old clients logs in', async () => {
    const c = await RawClient.connect(port('SASL_PLAINTEXT'));
    expect((await handshake(c, 'PLAIN', 0))!.errorCode).toBe(ErrorCode.NONE);
    const token = Buffer.from(`\u0000${ALICE.user}\u0000${ALICE.password}`);
    const size = Buffer.alloc(4);
    size.writeInt32BE(token.length);
    c.write(Buffer.concat([size, token]));
    expect((await c.readFrame())!.length).toBe(0); // PLAIN's empty server token
    expect(await metadata(c)).not.toBeNull();
    c.close();
  });

  it('tells the session lifetime, re-authenticates on the same connection, and closes an expired ' +
    'session', async () => {
    const c = await RawClient.connect(port('SASL_PLAINTEXT'));
    const first = await scramLogin(c, 'SCRAM-SHA-512', ALICE.user, ALICE.password);
    expect(Number(first!.sessionLifetimeMs)).toBeGreaterThan(0);
    expect(Number(first!.sessionLifetimeMs)).toBeLessThanOrEqual(REAUTH_MS);
    expect(await metadata(c)).not.toBeNull();
    const again = await scramLogin(c, 'SCRAM-SHA-512', ALICE.user, ALICE.password); // KIP-368
    expect(again!.errorCode).toBe(ErrorCode.NONE);
    await new Promise((r) => setTimeout(r, REAUTH_MS + 200));
    expect(await metadata(c)).toBeNull();
    await expect.poll(() => log).toMatch(/session expired without re-authentication/);
  }, 15_000);
});

describe('SCRAM credential administration', () => {
  it('refuses bad iterations, answers RESOURCE_NOT_FOUND for unknown users, lists mechanisms ' +
    'without secrets', async () => {
    const tooFew = await alterScramUser(port('PLAINTEXT'), 'carol', 'SCRAM-SHA-256', 'pw', 1000);
    expect(tooFew.results[0]).toMatchObject({ user: 'carol',
      errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL });
    expect((await alterScramUser(port('PLAINTEXT'), 'carol', 'SCRAM-SHA-256', 'carol-pw',
      5000)).results[0]!.errorCode).toBe(0);
    const described = await describeScramUsers(port('PLAINTEXT'), ['carol', 'ghost']);
    expect(described.results).toEqual([
      expect.objectContaining({ user: 'carol', errorCode: 0,
        credentialInfos: [expect.objectContaining({ mechanism: 1, iterations: 5000 })] }),
      expect.objectContaining({ user: 'ghost', errorCode: ErrorCode.RESOURCE_NOT_FOUND }),
    ]);
    const c = await RawClient.connect(port('SASL_PLAINTEXT'));
    expect((await plainLogin(c, 'carol',
      'carol-pw'))!.errorCode).toBe(0); // PLAIN checks the SCRAM credential
    c.close();
  });
});

describe('1,000 failed logins', () => {
  async function rssBytes(): Promise<number> {
    const status = await readFile(`/proc/${sb.broker.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  async function failLogins(count: number, parallel: number): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        const c = await RawClient.connect(port('SASL_PLAINTEXT'));
        const res = await scramLogin(c, 'SCRAM-SHA-512', `user-${next}`, 'wrong');
        expect(res!.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
        c.close();
      }
    }));
  }

  it('neither crash the broker nor grow its memory; each is logged once', async () => {
    await failLogins(200, 20); // warm-up: JIT, pools
    const before = failures().length;
    const rssBefore = await rssBytes();
    const started = Date.now();
    await failLogins(1000, 20);
    const rssAfter = await rssBytes();
    console.log(`1000 failed SCRAM logins in ${Date.now() - started} ms (20 at a time, ` +
      `${DELAY_MS} ms delay each); RSS ${(rssBefore / 2 ** 20).toFixed(1)} -> ` +
        `${(rssAfter / 2 ** 20).toFixed(1)} MiB`);
    await expect.poll(() => failures().length - before).toBe(1000);
    expect(rssAfter - rssBefore).toBeLessThan(40 * 2 ** 20);
    const c = await RawClient.connect(port('SASL_PLAINTEXT'));
    expect((await scramLogin(c, 'SCRAM-SHA-512', ALICE.user, ALICE.password))!.errorCode).toBe(0);
    c.close();
  }, 120_000);
});
