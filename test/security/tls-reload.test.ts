/**
 * Certificates reloaded without a restart (issue 10 item 1): the broker's PEM keystore is
 * replaced on disk by a renewed certificate; within sslFilesCheckIntervalMs new TLS connections
 * are served the new certificate, while the broker keeps running (same process).
 */
import { connect as tlsConnect } from 'node:tls';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type Certificates, type SecureBroker, makeCertificates, renewServerCertificate, startSecureBroker,
} from '../helpers/security.js';

let certs: Certificates;
let sb: SecureBroker;

beforeAll(async () => {
  certs = await makeCertificates();
  sb = await startSecureBroker(certs, { sslFilesCheckIntervalMs: 200 });
}, 120_000);
afterAll(async () => {
  await sb?.broker.destroy();
  await certs?.cleanup();
});

/** The SHA-256 fingerprint of the certificate the SSL listener serves now. */
async function servedFingerprint(): Promise<string> {
  const ca = await readFile(certs.caCert, 'utf8');
  const [host, port] = sb.address.SSL.split(':');
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host, port: Number(port), ca, servername: 'localhost' }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.destroy();
    });
    s.on('error', reject);
  });
}

it('serves a renewed keystore to new connections without a restart', async () => {
  const pid = sb.broker.pid;
  const before = await servedFingerprint();
  await renewServerCertificate(certs);
  await expect.poll(servedFingerprint, { timeout: 5000, interval: 100 }).not.toBe(before);
  expect(sb.broker.pid).toBe(pid);
  expect(sb.broker.output()).toMatch(/TLS keystore or truststore changed on disk/);
}, 30_000);
