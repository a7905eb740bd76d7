/**
 * Kafka's `sasl.jaas.config` value, as far as a broker needs it to log in to its peers:
 * `<LoginModule class> <flag> key="value" …;` with the username and password options. The
 * login module must be the one of the mechanism (ScramLoginModule for SCRAM, PlainLoginModule
 * for PLAIN). PlainLoginModule's `user_<name>="…"` options (Kafka's own PLAIN user list) are
 * ignored: PLAIN logins here are checked against the SCRAM credentials.
 */

const MODULE_OF: Readonly<Record<string, string>> = {
  PLAIN: 'org.apache.kafka.common.security.plain.PlainLoginModule',
  'SCRAM-SHA-256': 'org.apache.kafka.common.security.scram.ScramLoginModule',
  'SCRAM-SHA-512': 'org.apache.kafka.common.security.scram.ScramLoginModule',
};

/** Longest JAAS text read: a login module line, not a file. */
const JAAS_CHARS_MAX = 16 * 1024;

const ENTRY = /^\s*([A-Za-z_$][\w.$]*)\s+(required|requisite|sufficient|optional)\b([\s\S]*?);\s*$/;
const OPTION = /\s*([A-Za-z_][\w.-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s";]+))/y;

/** The username and password of a JAAS login line; throws an Error saying what is wrong. */
export function parseJaasLogin(text: string, mechanism: string):
  { username: string; password: string } {
  if (text.length > JAAS_CHARS_MAX) throw new Error(`longer than ${JAAS_CHARS_MAX} characters`);
  const entry = ENTRY.exec(text);
  if (entry === null) throw new Error('expected "<LoginModule> required username=\\"…\\" ' +
    'password=\\"…\\";"');
  const module = MODULE_OF[mechanism];
  if (module !== undefined && entry[1] !== module) {
    throw new Error(`${mechanism} logs in with ${module}, not ${entry[1]}`);
  }
  const options = new Map<string, string>();
  const rest = entry[3]!;
  OPTION.lastIndex = 0;
  while (OPTION.lastIndex < rest.trimEnd().length) {
    const m = OPTION.exec(rest);
    if (m === null) throw new Error(`cannot read the options "${rest.trim().slice(0, 80)}"`);
    options.set(m[1]!, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
  }
  const username = options.get('username');
  const password = options.get('password');
  if (username === undefined || username === '' || password === undefined || password === '') {
    throw new Error('needs username="…" and password="…"');
  }
  return { username, password };
}
