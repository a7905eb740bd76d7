/** Kafka's sasl.jaas.config line as a broker reads its inter-broker login from it. */
import { describe, expect, it } from 'vitest';
import { parseJaasLogin } from '../../src/security/jaas.js';

const SCRAM = 'org.apache.kafka.common.security.scram.ScramLoginModule';
const PLAIN = 'org.apache.kafka.common.security.plain.PlainLoginModule';

describe('parseJaasLogin', () => {
  it('reads quoted, escaped and bare options; ignores PLAIN\'s user_ list', () => {
    expect(parseJaasLogin(`${SCRAM} required username="admin" password="a \\"b\\";c";`,
      'SCRAM-SHA-512')).toEqual({ username: 'admin', password: 'a "b";c' });
    expect(parseJaasLogin(`  ${PLAIN} required\n username=broker password=s3cret ` +
      'user_broker="s3cret" user_alice="x" ;  ', 'PLAIN'))
      .toEqual({ username: 'broker', password: 's3cret' });
  });

  it('says what is wrong', () => {
    expect(() => parseJaasLogin(`${SCRAM} required username="admin";`, 'SCRAM-SHA-256'))
      .toThrow('needs username="…" and password="…"');
    expect(() => parseJaasLogin(`${SCRAM} required username="admin" password="x"`,
      'SCRAM-SHA-256')).toThrow('expected');
    expect(() => parseJaasLogin(`${SCRAM} maybe username="a" password="x";`, 'SCRAM-SHA-256'))
      .toThrow('expected');
    expect(() => parseJaasLogin(`${SCRAM} required username="a" password="x" "oops";`,
      'SCRAM-SHA-256')).toThrow('cannot read the options');
    expect(() => parseJaasLogin(`${PLAIN} required username="a" password="x";`,
      'SCRAM-SHA-256')).toThrow(`SCRAM-SHA-256 logs in with ${SCRAM}`);
  });
});
