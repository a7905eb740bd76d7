/**
 * The security settings: Kafka's names in a .properties file and as dotted flags, listeners and
 * their protocol map, advertised listeners, mapping rules, and every bad value stopping start-up
 * with one line naming the setting. Plus the default start: one PLAINTEXT listener and one
 * warning that nobody is authenticated.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { parseListeners } from '../../src/security/listeners.js';
import { mapSubject, parseMappingRules } from '../../src/security/ssl-principal.js';
import { startBroker } from '../helpers/broker-process.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/src/cli.js');

function refusal(argv: string[]): string {
  try {
    loadConfig(argv, {});
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('Kafka names', () => {
  it('reads a server.properties with Kafka\'s names, comments and continuations', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ls-props-'));
    const file = path.join(dir, 'server.properties');
    writeFileSync(file, [
      '# a Kafka operator\'s file', 'node.id=4', 'listeners=PLAINTEXT://127.0.0.1:9092,\\',
      '    INTERNAL://127.0.0.1:9094',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT',
      'advertised.listeners=PLAINTEXT://broker4.example:19092',
        'sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN',
      'connections.max.reauth.ms: 60000', 'socket.request.max.bytes 2097152',
        'auto.create.topics.enable=false', '',
    ].join('\n'));
    const c = loadConfig(['--config', file], {});
    expect([c.nodeId, c.saslEnabledMechanisms, c.connectionsMaxReauthMs, c.requestBytesMax,
      c.autoCreateTopics])
      .toEqual([4, ['SCRAM-SHA-512', 'PLAIN'], 60000, 2097152, false]);
    expect([c.host, c.port, c.advertisedHost, c.advertisedPort]).toEqual(['127.0.0.1', 9092,
      'broker4.example', 19092]);
    expect(parseListeners(c).map((l) => `${l.name}:${l.protocol}:${l.port}:${l.advertisedHost}`))
      .toEqual(['PLAINTEXT:PLAINTEXT:9092:broker4.example',
        'INTERNAL:SASL_PLAINTEXT:9094:127.0.0.1']);
  });

  it('takes dotted flags, and keeps host, port and the advertised pair without listeners', () => {
    const c = loadConfig(['--sasl.enabled.mechanisms', 'PLAIN', '--port', '9999',
      '--advertised-host', 'a.example',
      '--advertised-port', '19999'], {});
    expect(c.saslEnabledMechanisms).toEqual(['PLAIN']);
    expect(parseListeners(c)).toEqual([{ name: 'PLAINTEXT', protocol: 'PLAINTEXT',
      host: '127.0.0.1', port: 9999,
      advertisedHost: 'a.example', advertisedPort: 19999 }]);
  });

  it('refuses each bad value with one line naming the setting', () => {
    const cases: [string[], RegExp][] = [
      [['--listeners', 'PLAINTEXT:9092'],
        /^invalid setting listeners: "PLAINTEXT:9092" is not NAME:\/\/host:port$/],
      [['--listeners', 'FOO://:9092'],
        /^invalid setting listenerSecurityProtocolMap: has no security protocol for listener FOO$/],
      [['--listeners', 'A://:9092,B://:9092', '--listener-security-protocol-map',
        'A:PLAINTEXT,B:SSL'], /^invalid setting listeners: port 9092 is used twice$/],
      [['--listener-security-protocol-map', 'X:KERBEROS'],
        /^invalid setting listenerSecurityProtocolMap: KERBEROS is not one of/],
      [['--advertised-listeners', 'OTHER://h:1'],
        /^invalid setting advertisedListeners: OTHER is not one of the listeners$/],
      [['--listeners', 'SASL_PLAINTEXT://:9092', '--sasl-enabled-mechanisms', 'GSSAPI'],
        /^invalid setting saslEnabledMechanisms: GSSAPI is not one of .*Kerberos/],
      [['--listeners', 'SASL_PLAINTEXT://:9092', '--sasl-enabled-mechanisms', 'OAUTHBEARER'],
        /^invalid setting saslOauthbearerJwksEndpointUrl: OAUTHBEARER needs a JWKS URL/],
      [['--listeners', 'SSL://:9093'],
        /^invalid setting sslKeystoreLocation: an SSL or SASL_SSL listener needs a keystore/],
      [['--listeners', 'SSL://:9093', '--ssl-keystore-location', '/nonexistent.pem'],
        /^invalid setting sslKeystoreLocation: cannot read \/nonexistent.pem/],
      [['--ssl-keystore-type', 'JKS'],
        /^invalid setting sslKeystoreType: expected one of PEM, PKCS12, got "JKS"$/],
      [['--ssl-enabled-protocols', 'TLSv1.1'],
        /^invalid setting sslEnabledProtocols: TLSv1.1 is not allowed/],
      [['--ssl-principal-mapping-rules', 'RULE:(unclosed/x/'],
        /^invalid setting sslPrincipalMappingRules: bad pattern/],
      [['--scram-bootstrap-users', 'SCRAM-SHA-512=[name=admin]'],
        /^invalid setting scramBootstrapUsers: .*needs name= and password=/],
      [['--sasl.unknown.thing', 'x'], /^invalid setting --sasl.unknown.thing: unknown setting/],
    ];
    for (const [argv, message] of cases) expect([argv, refusal(argv)]).toEqual([argv,
      expect.stringMatching(message)]);
  });
});

describe('ssl.principal.mapping.rules', () => {
  it('maps a subject as Kafka\'s SslPrincipalMapper: first matching rule, case, DEFAULT', () => {
    const rules =
      parseMappingRules('RULE:^CN=([^,]+),OU=agents,.*$/$1/L,'
        + 'RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/U,DEFAULT');
    expect(mapSubject(rules, 'CN=Alice,OU=agents,O=ledger')).toBe('alice');
    expect(mapSubject(rules, 'CN=bob,OU=ops,O=ledger')).toBe('BOB@OPS');
    expect(mapSubject(rules, 'CN=carol')).toBe('CN=carol');
    expect(() => mapSubject(parseMappingRules('RULE:^CN=x$/y/'), 'CN=z')).toThrow(/no ssl.principal.mapping.rules rule matches/);
  });
});

it('npm start defaults: one PLAINTEXT listener and one warning that nobody is authenticated',
  async () => {
  const broker = await startBroker({ settings: { logLevel: 'info' } });
  try {
    const warnings = () => broker.output().split('\n').filter((l) =>
      l.includes('no authentication on these listeners'));
    await expect.poll(warnings).toHaveLength(1);
    expect(warnings()[0]).toContain(`PLAINTEXT://127.0.0.1:${broker.port}`);
  } finally {
    await broker.destroy();
  }
  const run = promisify(execFile);
  const bad = await run(process.execPath, [CLI, 'start', '--listeners',
    'SSL://127.0.0.1:0']).catch((e: unknown) => e);
  expect((bad as { stderr: string }).stderr.trim().split('\n')).toEqual(
    ['ledgerstream: invalid setting sslKeystoreLocation: an SSL or SASL_SSL listener needs a ' +
      'keystore (or sslKeystoreKey and sslKeystoreCertificateChain)']);
}, 60_000);
