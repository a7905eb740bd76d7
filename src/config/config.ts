/**
 * Broker configuration from, in rising precedence: defaults, a JSON file (`--config FILE`), the
 * environment (`LEDGERSTREAM_<SETTING_IN_SNAKE_CASE>`), and flags (`--setting-name value`).
 * Every setting is validated at start-up; a bad one stops the broker with a single line naming
 * it (ConfigError), before anything is opened.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  MiB, quotaLimits as q, settingBounds as bounds, settingDefaults as d,
} from '../limits.js';
import { settingRelationError } from '../limit-relations.js';
import { parseConnectionOverrides } from '../quota/connection-limits.js';
import { didYouMean } from './suggest.js';
import { ConfigError } from './config-error.js';
import { jaasKeyOfKafkaName, settingOfKafkaName } from './kafka-names.js';
import { parseProperties } from './properties.js';
import { checkSecuritySettings } from '../security/security-settings.js';
import { interBrokerListener } from '../security/inter-broker.js';
import { AUTHORIZER_CLASS_NAMES, parseSuperUsers } from '../security/authorizer.js';

export { ConfigError };

type Kind = 'int' | 'string' | 'bool' | 'enum' | 'list' | 'map';

interface SettingSpec {
  kind: Kind;
  default: unknown;
  min?: number;
  max?: number;
  values?: readonly string[];
  help: string;
}

/** Kafka's "no limit" for its int settings (Int.MaxValue). */
const INT_MAX = 2 ** 31 - 1;

/** All settings, their defaults and bounds. Names with units say the unit. */
export const SETTINGS = {
  nodeId: { kind: 'int', default: 1, min: 0, max: 2 ** 31 - 1, help: 'Broker id' },
  host: { kind: 'string', default: '127.0.0.1', help: 'Address to listen on' },
  port: { kind: 'int', default: 9092, min: 0, max: 65535, help: 'Port to listen on (0 = any free port)' },
  advertisedHost: { kind: 'string', default: '', help: 'Host clients are told to connect to (default: host)' },
  advertisedPort: { kind: 'int', default: 0, min: 0, max: 65535, help: 'Port clients are told (default: the bound port)' },
  dataDir: { kind: 'string', default: './data', help: 'Folder for the WAL, the embedded coordinator and the local object store' },
  objectStore: { kind: 'enum', default: 'local', values: ['local', 's3'], help: 'Object store engine' },
  objectStoreDir: { kind: 'string', default: '', help: 'Local object store folder (default: <dataDir>/objects)' },
  s3Endpoint: { kind: 'string', default: '', help: 'S3 endpoint URL (empty: AWS default)' },
  s3Region: { kind: 'string', default: 'us-east-1', help: 'S3 region' },
  s3Bucket: { kind: 'string', default: '', help: 'S3 bucket (required with objectStore=s3)' },
  s3AccessKeyId: { kind: 'string', default: '', help: 'S3 access key id (empty: SDK default chain)' },
  s3SecretAccessKey: { kind: 'string', default: '', help: 'S3 secret access key' },
  s3ForcePathStyle: { kind: 'bool', default: true, help: 'Path-style S3 URLs (MinIO needs this)' },
  s3Prefix: { kind: 'string', default: '', help: 'Key prefix inside the bucket' },
  s3RequestTimeoutMs: { kind: 'int', default: d.s3RequestTimeoutMs, min: 100, max: 600_000, help: 'Timeout of one S3 request' },
  s3CreateBucket: { kind: 'bool', default: false, help: 'Create the bucket at start-up if missing' },
  startDegraded: { kind: 'bool', default: false, help: 'Start even if the object store fails the start-up check (a write, read and delete); produce then waits on the WAL and uploads retry' },
  walMode: { kind: 'enum', default: 'local', values: ['local', 'shared', 'object'],
    help: 'local: WAL in dataDir; shared: WAL in sharedWalDir/<nodeId>, replayed by another broker if this one dies; object: acknowledge only once in object storage' },
  sharedWalDir: { kind: 'string', default: '', help: 'Folder every broker can reach (walMode=shared)' },
  coordinator: { kind: 'enum', default: 'embedded', values: ['embedded', 'etcd'], help: 'Metadata coordinator' },
  etcdEndpoints: { kind: 'list', default: ['http://127.0.0.1:2379'], help: 'etcd endpoints, comma separated' },
  etcdPrefix: { kind: 'string', default: '/ledgerstream/', help: 'Key prefix of this cluster in etcd' },
  etcdTxnOpsMax: { kind: 'int', default: d.etcdTxnOpsMax, min: bounds.etcdTxnOpsMin, max: 100_000, help: "Ops per etcd transaction: etcd's --max-txn-ops (default 128)" },
  leaseTtlMs: { kind: 'int', default: d.leaseTtlMs, min: bounds.leaseTtlMsMin, max: 600_000, help: 'Broker lease in etcd: a dead broker is replaced after about this long' },
  ackWindowMs: { kind: 'int', default: d.ackWindowMs, min: bounds.ackWindowMsMin, max: 600_000, help: 'Acknowledge only this long after a lease renewal etcd confirmed (at most leaseTtlMs): a broker whose port refuses connections is replaced after about this long' },
  requestBytesMax: { kind: 'int', default: d.requestBytesMax, min: 1024, max: 1024 * MiB, help: 'Largest request accepted (socket.request.max.bytes)' },
  inFlightRequestsMax: { kind: 'int', default: d.inFlightRequestsMax, min: 1, max: 10_000, help: 'Unanswered requests per connection before reading pauses' },
  unsentBytesMax: { kind: 'int', default: d.unsentBytesMax, min: 64 * 1024, max: 4096 * MiB, help: 'Unsent response bytes per connection before reading pauses' },
  clientMemoryBytesMax: { kind: 'int', default: d.clientMemoryBytesMax, min: MiB, max: 65536 * MiB, help: 'Bytes held for clients over all connections (requests being read or handled, fetched data, answers not yet sent) past which connections stop reading: a wider queued.max.request.bytes' },
  fetchMaxBytes: { kind: 'int', default: d.fetchMaxBytes, min: 1024, max: 1024 * MiB, help: 'Most record bytes in one Fetch answer, whatever the client asks; one batch goes anyway (fetch.max.bytes)' },
  fetchSessionCacheSlots: { kind: 'int', default: d.fetchSessionCacheSlots, min: 0, max: 100_000,
    help: 'Incremental fetch sessions kept (KIP-227; 0 turns them off): in one, a Fetch names '
      + 'and gets back only the partitions that changed '
      + '(max.incremental.fetch.session.cache.slots)' },
  connectionsMaxIdleMs: { kind: 'int', default: d.connectionsMaxIdleMs, min: 1000, max: 2 ** 31 - 1, help: 'Idle connections are closed after this' },
  walSegmentBytesMax: { kind: 'int', default: d.walSegmentBytesMax, min: bounds.walSegmentBytesMin, max: 4096 * MiB, help: 'WAL segment file size' },
  uploadIntervalMs: { kind: 'int', default: d.uploadIntervalMs, min: 10, max: 600_000, help: 'Upload WAL data to object storage at least this often' },
  uploadBytesMax: { kind: 'int', default: d.uploadBytesMax, min: 64 * 1024, max: 1024 * MiB, help: 'Upload as soon as this much is waiting' },
  uploadPutsPerSecondMax: { kind: 'int', default: d.uploadPutsPerSecondMax, min: 1, max: 1000,
    help: 'Object-store PUTs a second at most with walMode local or shared: batches arriving '
      + 'meanwhile ride the next PUT' },
  objectWalPutsPerSecondMax: { kind: 'int', default: d.objectWalPutsPerSecondMax, min: 1, max: 1000,
    help: 'walMode=object: PUTs a second at most; a produce waits for the next PUT (up to '
      + '1000/this ms), then for the PUT and its commit' },
  uploadObjectBytesMax: { kind: 'int', default: d.uploadObjectBytesMax, min: 64 * 1024, max: bounds.uploadObjectBytesMaxMax, help: 'Batch bytes per uploaded object; a larger backlog goes up as several objects, oldest first' },
  uploadBacklogBytesMax: { kind: 'int', default: d.uploadBacklogBytesMax, min: MiB, max: 65536 * MiB, help: 'Bytes not yet in object storage past which Produce gets KAFKA_STORAGE_ERROR (retriable)' },
  tailBytesMax: { kind: 'int', default: d.tailBytesMax, min: MiB, max: 65536 * MiB, help: 'Recent batches kept in memory for fetches' },
  tailBatchesMax: {
    kind: 'int', default: d.tailBatchesMax, min: 1, max: 16 * MiB,
    help: 'At most this many recent batches kept in memory for fetches '
      + '(each is traced by every full garbage collection)',
  },
  readCacheBytesMax: { kind: 'int', default: d.readCacheBytesMax, min: MiB, max: 65536 * MiB, help: 'Block cache for reads from object storage' },
  autoCreateTopics: { kind: 'bool', default: true, help: 'Create unknown topics on Metadata requests (auto.create.topics.enable)' },
  defaultPartitions: { kind: 'int', default: d.defaultPartitions, min: 1, max: 10_000, help: 'Partitions of auto-created topics (num.partitions)' },
  retentionMs: { kind: 'int', default: d.retentionMs, min: -1, max: Number.MAX_SAFE_INTEGER, help: 'Default retention.ms' },
  retentionBytes: { kind: 'int', default: d.retentionBytes, min: -1, max: Number.MAX_SAFE_INTEGER, help: 'Default retention.bytes per partition' },
  messageBytesMax: { kind: 'int', default: d.messageBytesMax, min: 1024, max: bounds.messageBytesMaxMax, help: 'Default max.message.bytes (largest batch; at most one WAL entry)' },
  orphanAgeMsMin: { kind: 'int', default: d.orphanAgeMsMin, min: 1000, max: 30 * 86_400_000, help: 'Unreferenced objects older than this are deleted' },
  orphanCheckIntervalMs: { kind: 'int', default: d.orphanCheckIntervalMs, min: 100, max: 86_400_000, help: 'How often unreferenced objects are looked for' },
  retentionCheckIntervalMs: { kind: 'int', default: d.retentionCheckIntervalMs, min: 100, max: 86_400_000, help: 'How often retention runs' },
  groupInitialRebalanceDelayMs: { kind: 'int', default: d.groupInitialRebalanceDelayMs, min: 0, max: 300_000, help: 'group.initial.rebalance.delay.ms' },
  transactionalIdExpirationMs: { kind: 'int', default: d.transactionalIdExpirationMs, min: 1,
    max: 2_147_483_647, help: 'An idle transactional id is forgotten after this '
      + '(transactional.id.expiration.ms)' },
  producerIdExpirationMs: { kind: 'int', default: d.producerIdExpirationMs, min: 1,
    max: 2_147_483_647, help: 'A partition forgets an idempotent producer idle this long, checked '
      + 'with retention (producer.id.expiration.ms)' },
  groupSessionTimeoutMsMin: { kind: 'int', default: d.groupSessionTimeoutMsMin, min: 1, max: 3_600_000, help: 'group.min.session.timeout.ms' },
  groupSessionTimeoutMsMax: { kind: 'int', default: d.groupSessionTimeoutMsMax, min: 1, max: 3_600_000, help: 'group.max.session.timeout.ms' },
  // Quotas and connection limits (issue 10 item 5), under Kafka's names.
  quotaWindowNum: { kind: 'int', default: q.windowSamplesDefault, min: 2, max: 1000,
    help: 'Samples a client quota rate is measured over (quota.window.num)' },
  quotaWindowSizeSeconds: { kind: 'int', default: q.windowSecondsDefault, min: 1, max: 3600,
    help: 'Length of one quota sample (quota.window.size.seconds)' },
  maxConnections: { kind: 'int', default: INT_MAX, min: 1, max: INT_MAX,
    help: 'Open client connections past which a new one is closed at once (max.connections)' },
  maxConnectionsPerIp: { kind: 'int', default: INT_MAX, min: 0, max: INT_MAX,
    help: 'Open connections from one address past which a new one from it is closed at once '
      + '(max.connections.per.ip)' },
  maxConnectionsPerIpOverrides: { kind: 'list', default: [],
    help: 'Per-address exceptions to maxConnectionsPerIp, "address:count,…" '
      + '(max.connections.per.ip.overrides; IP addresses, not host names)' },
  maxConnectionCreationRate: { kind: 'int', default: INT_MAX, min: 1, max: INT_MAX,
    help: 'New connections a second, broker-wide; faster ones wait before they are served, '
      + "as Kafka's acceptor does (max.connection.creation.rate)" },
  metricsPort: { kind: 'int', default: 0, min: 0, max: 65535, help: 'Prometheus endpoint port (0 = off)' },
  metricsHost: { kind: 'string', default: '127.0.0.1', help: 'Prometheus endpoint address' },
  logLevel: { kind: 'enum', default: 'info', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], help: 'Log level' },
  logFormat: { kind: 'enum', default: 'auto', values: ['auto', 'json', 'pretty'], help: 'pretty: a readable line per event; json: one JSON object per line; auto: pretty on a terminal, else json' },
  // Authorization (issue 10); Kafka's setting names in the help.
  authorizerClassName: { kind: 'string', default: '',
    help: `authorizer.class.name: ${AUTHORIZER_CLASS_NAMES[0]} turns ACLs on `
      + '(kafka.security.authorizer.AclAuthorizer is accepted too); empty: everyone may do '
      + 'everything and the ACL APIs answer SECURITY_DISABLED' },
  superUsers: { kind: 'string', default: '',
    help: 'super.users: principals allowed everything, separated by ";" (User:admin;User:ops)' },
  allowEveryoneIfNoAclFound: { kind: 'bool', default: false,
    help: 'allow.everyone.if.no.acl.found: a resource no ACL applies to is open to everyone' },
  shutdownTimeoutMs: { kind: 'int', default: d.shutdownTimeoutMs, min: 100, max: 600_000, help: 'Longest graceful shutdown before exit' },
  // Security: Kafka's names (a .properties file or a flag may spell them listeners,
  // sasl.enabled.mechanisms, ssl.keystore.location, …) and Kafka's meanings.
  listeners: { kind: 'string', default: '',
    help: 'listeners: NAME://host:port,… (default: PLAINTEXT://host:port)' },
  advertisedListeners: { kind: 'string', default: '',
    help: 'advertised.listeners: NAME://host:port per listener clients are told (default: the ' +
      'listener, or advertisedHost/advertisedPort for the first)' },
  listenerSecurityProtocolMap: { kind: 'string', default: '',
    help: 'listener.security.protocol.map: NAME:PROTOCOL,… (PLAINTEXT, SSL, SASL_PLAINTEXT, ' +
      'SASL_SSL; default: each protocol name maps to itself)' },
  saslEnabledMechanisms: { kind: 'list', default: ['SCRAM-SHA-256', 'SCRAM-SHA-512'],
    help: 'sasl.enabled.mechanisms: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (PLAIN ' +
      'checks the SCRAM credentials)' },
  scramBootstrapUsers: { kind: 'string', default: '',
    help: "SCRAM users created at start-up if missing, as kafka-storage.sh --add-scram: " +
      "'SCRAM-SHA-512=[name=admin,password=secret] …'" },
  connectionsMaxReauthMs: { kind: 'int', default: 0, min: 0, max: 2 ** 31 - 1,
    help: 'connections.max.reauth.ms: a SASL session lasts this long, then the client must ' +
      're-authenticate (KIP-368; 0 = forever)' },
  connectionFailedAuthenticationDelayMs: { kind: 'int', default: d.failedAuthenticationDelayMs,
    min: 0, max: 60_000,
      help: 'connection.failed.authentication.delay.ms: wait before answering a failed ' +
        'authentication' },
  sslKeystoreType: { kind: 'enum', default: 'PEM', values: ['PEM', 'PKCS12'],
    help: 'ssl.keystore.type: PEM (key and certificate chain) or PKCS12; JKS is not read: ' +
      'convert it with keytool -importkeystore' },
  sslKeystoreLocation: { kind: 'string', default: '',
    help: 'ssl.keystore.location: PEM file with the private key and certificate chain, or a ' +
      'PKCS12 file' },
  sslKeystorePassword: { kind: 'string', default: '', help: 'ssl.keystore.password (PKCS12)' },
  sslKeyPassword: { kind: 'string', default: '',
    help: 'ssl.key.password: of an encrypted PEM private key' },
  sslKeystoreCertificateChain: { kind: 'string', default: '',
    help: 'ssl.keystore.certificate.chain: the certificate chain as PEM text (instead of a file)' },
  sslKeystoreKey: { kind: 'string', default: '',
    help: 'ssl.keystore.key: the private key as PEM text (instead of a file)' },
  sslTruststoreType: { kind: 'enum', default: 'PEM', values: ['PEM', 'PKCS12'],
    help: 'ssl.truststore.type: PEM or PKCS12' },
  sslTruststoreLocation: { kind: 'string', default: '',
    help: 'ssl.truststore.location: CA certificates client certificates must chain to' },
  sslTruststorePassword: { kind: 'string', default: '', help: 'ssl.truststore.password (PKCS12)' },
  sslTruststoreCertificates: { kind: 'string', default: '',
    help: 'ssl.truststore.certificates: CA certificates as PEM text (instead of a file)' },
  sslClientAuth: { kind: 'enum', default: 'none', values: ['none', 'requested', 'required'],
    help: 'ssl.client.auth: ask for client certificates (mTLS); the principal then comes from ' +
      'the subject' },
  sslPrincipalMappingRules: { kind: 'string', default: 'DEFAULT',
    help: 'ssl.principal.mapping.rules: RULE:pattern/replacement/[LU],…,DEFAULT applied to the ' +
      'certificate subject' },
  sslEnabledProtocols: { kind: 'list', default: ['TLSv1.2', 'TLSv1.3'],
    help: 'ssl.enabled.protocols: TLSv1.2 and/or TLSv1.3' },
  sslFilesCheckIntervalMs: { kind: 'int', default: d.sslFilesCheckIntervalMs, min: 100,
    max: 86_400_000,
      help: 'How often the keystore and truststore files are checked for changes, which are ' +
        'loaded without a restart' },
  saslOauthbearerJwksEndpointUrl: { kind: 'string', default: '', help: 'sasl.oauthbearer.jwks.endpoint.url: https://…, http://… or file:///… JWKS that signs OAUTHBEARER tokens' },
  saslOauthbearerExpectedAudience: { kind: 'list', default: [],
    help: 'sasl.oauthbearer.expected.audience: a token must name one of these in aud (empty: not ' +
      'checked)' },
  saslOauthbearerExpectedIssuer: { kind: 'string', default: '',
    help: 'sasl.oauthbearer.expected.issuer: a token must have this iss (empty: not checked)' },
  saslOauthbearerSubClaimName: { kind: 'string', default: 'sub',
    help: 'sasl.oauthbearer.sub.claim.name: the claim that names the principal' },
  saslOauthbearerClockSkewSeconds: { kind: 'int', default: 30, min: 0, max: 3600,
    help: 'sasl.oauthbearer.clock.skew.seconds: tolerance on exp, nbf and iat' },
  // Between brokers (security/inter-broker.ts): the listener peers reach, and how they log in.
  interBrokerListenerName: { kind: 'string', default: '',
    help: 'inter.broker.listener.name: the listener brokers of a cluster talk to each other ' +
      'through (default: the one named PLAINTEXT, as Kafka)' },
  securityInterBrokerProtocol: { kind: 'string', default: '',
    help: 'security.inter.broker.protocol: instead of interBrokerListenerName, the listener ' +
      'named after a protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)' },
  saslMechanismInterBrokerProtocol: { kind: 'string', default: '',
    help: 'sasl.mechanism.inter.broker.protocol: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 when the ' +
      'inter-broker listener uses SASL' },
  listenerSaslJaasConfig: { kind: 'map', default: {},
    help: 'listener.name.<listener>.<mechanism>.sasl.jaas.config: …LoginModule required ' +
      'username="…" password="…"; the login a broker uses on its peers\' inter-broker listener' },
  sslEndpointIdentificationAlgorithm: { kind: 'enum', default: 'https', values: ['https', ''],
    help: 'ssl.endpoint.identification.algorithm: https checks a peer broker\'s certificate ' +
      'names its host; empty: not checked' },
} as const satisfies Record<string, SettingSpec>;

type Settings = typeof SETTINGS;
type ValueOf<S> = S extends { kind: 'int' } ? number : S extends { kind: 'bool' } ? boolean
  : S extends { kind: 'list' } ? string[] : S extends { kind: 'map' } ? Record<string, string>
  : string;

export type BrokerConfig = { -readonly [K in keyof Settings]: ValueOf<Settings[K]> };

export function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
}

export function envName(name: string): string {
  return `LEDGERSTREAM_${name.replace(/[A-Z]+/g, (m) => `_${m}`).toUpperCase()}`;
}

function parseValue(name: string, spec: SettingSpec, raw: unknown): unknown {
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (spec.kind) {
    case 'int': {
      const n = typeof text === 'number' ? text : /^-?\d+$/.test(String(text)) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n)) throw new ConfigError(name, `expected an integer, got "${String(raw)}"`);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw new ConfigError(name, `${n} is outside [${spec.min}, ${spec.max}]`);
      }
      return n;
    }
    case 'bool':
      if (text === true || text === 'true' || text === '1') return true;
      if (text === false || text === 'false' || text === '0') return false;
      throw new ConfigError(name, `expected true or false, got "${String(raw)}"`);
    case 'enum':
      if (typeof text !== 'string' || !spec.values!.includes(text)) {
        throw new ConfigError(name, `expected one of ${spec.values!.join(', ')}, got "${String(raw)}"`);
      }
      return text;
    case 'map':
      return parseMap(name, text);
    case 'list': {
      const items = Array.isArray(text) ? text.map(String) : String(text).split(',');
      return items.map((s) => s.trim()).filter((s) => s !== '');
    }
    default:
      if (typeof text !== 'string' && typeof text !== 'number') {
        throw new ConfigError(name, `expected a string, got ${typeof raw}`);
      }
      return String(text);
  }
}

/** A map setting: an object of strings, or its JSON text (a flag or environment variable). */
function parseMap(name: string, raw: unknown): Record<string, string> {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ConfigError(name, `expected a JSON object of strings, got "${raw}"`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)
    || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new ConfigError(name, 'expected an object of strings');
  }
  return Object.fromEntries(Object.entries(value as Record<string, string>)
    .map(([k, v]) => [k.toLowerCase(), v]));
}

/** Parses `--name value` / `--name=value` flags (kebab or camel case) into raw values. */
export function parseFlags(argv: readonly string[]): Record<string, string> {
  const byFlag = new Map(Object.keys(SETTINGS).flatMap((k) => [[kebabCase(k), k], [k, k]]));
  byFlag.set('config', 'config');
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(arg, 'unexpected argument (flags look like --port 9092)');
    const eq = arg.indexOf('=');
    const flag = arg.slice(2, eq < 0 ? undefined : eq);
    const name = byFlag.get(flag) ?? settingOfKafkaName(flag);
    if (name === undefined) {
      const flags = ['config', ...Object.keys(SETTINGS).map(kebabCase)].map((f) => `--${f}`);
      throw new ConfigError(`--${flag}`, `unknown setting${didYouMean(`--${flag}`, flags)}`);
    }
    let value: string | undefined = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(name, 'missing value');
    const jaasKey = jaasKeyOfKafkaName(flag);
    out[name] = jaasKey === undefined ? value
      : JSON.stringify({ ...JSON.parse(out[name] ?? '{}') as object, [jaasKey]: value });
  }
  return out;
}

/**
 * LEDGERSTREAM_* variables that are not broker settings: the config file's path, and the tools'
 * own (test and CI helpers, scripts), which share the environment of a broker they start.
 */
const NON_SETTING_VARIABLES = new Set([
  'LEDGERSTREAM_CONFIG', 'LEDGERSTREAM_MINIO_BIN', 'LEDGERSTREAM_ETCD_BIN', 'LEDGERSTREAM_JAVA',
  'LEDGERSTREAM_PYTHON', 'LEDGERSTREAM_GO', 'LEDGERSTREAM_KAFKA_VERSION', 'LEDGERSTREAM_KAFKA_HOME',
  'LEDGERSTREAM_CLUSTER_DIR', 'LEDGERSTREAM_CI_TEST_LIMIT_S', 'LEDGERSTREAM_BOOTSTRAP',
  // Fault injection for kill tests (src/util/crash-points.ts).
  'LEDGERSTREAM_CRASH_POINTS',
]);

/** An unknown LEDGERSTREAM_* variable is a typo until shown otherwise: silently ignoring it hides a wrong setting. */
function checkEnvironment(env: NodeJS.ProcessEnv): void {
  const known = new Set([...Object.keys(SETTINGS).map(envName), ...NON_SETTING_VARIABLES]);
  for (const name of Object.keys(env)) {
    if (!name.startsWith('LEDGERSTREAM_') || known.has(name)) continue;
    throw new ConfigError(name, `unknown environment variable${didYouMean(name, Object.keys(SETTINGS).map(envName))}`);
  }
}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  const flags = parseFlags(argv);
  checkEnvironment(env);
  let file: Record<string, unknown> = {};
  const configPath = flags.config ?? env.LEDGERSTREAM_CONFIG;
  if (configPath !== undefined) file = readConfigFile(configPath);
  const config: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [string, SettingSpec][]) {
    const raw = flags[name] ?? env[envName(name)] ?? file[name];
    config[name] = raw === undefined ? spec.default : parseValue(name, spec, raw);
  }
  return finish(config as BrokerConfig);
}

/**
 * A JSON file of settings, or a Java `.properties` file as Kafka's server.properties: either may
 * use our names or Kafka's (`sasl.enabled.mechanisms`), so an operator's file pastes in.
 */
function readConfigFile(configPath: string): Record<string, unknown> {
  let raw: Record<string, unknown>;
  try {
    const text = readFileSync(configPath, 'utf8');
    raw = configPath.endsWith('.properties') ? parseProperties(text)
      : JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError('config', `cannot read ${configPath}: ${(err as Error).message}`);
  }
  const file: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = key in SETTINGS ? key : settingOfKafkaName(key);
    if (name === undefined) {
      throw new ConfigError(key,
        `unknown setting in ${configPath}${didYouMean(key, Object.keys(SETTINGS))}`);
    }
    const jaasKey = jaasKeyOfKafkaName(key);
    file[name] = jaasKey === undefined ? value
      : { ...file[name] as Record<string, unknown> | undefined, [jaasKey]: value };
  }
  return file;
}

/** Cross-setting checks and derived defaults. */
function finish(c: BrokerConfig): BrokerConfig {
  c.dataDir = resolve(c.dataDir);
  if (c.objectStoreDir === '') c.objectStoreDir = join(c.dataDir, 'objects');
  // The first listener is what host, port and the advertised pair describe (cluster registration,
  // the "listening on" line); without `listeners` it is the PLAINTEXT one they define.
  const listeners = checkSecuritySettings(c);
  interBrokerListener(c, listeners, c.coordinator === 'etcd');
  const first = listeners[0]!;
  c.host = first.host;
  c.port = first.port;
  c.advertisedHost = first.advertisedHost;
  c.advertisedPort = first.advertisedPort; // 0 still: the bound port, once known
  if (c.objectStore === 's3' && c.s3Bucket === '') {
    throw new ConfigError('s3Bucket', 'required when objectStore is s3');
  }
  if (c.s3Prefix !== '' && !c.s3Prefix.endsWith('/')) {
    throw new ConfigError('s3Prefix', `must be empty or end with "/", got "${c.s3Prefix}"`);
  }
  const broken = settingRelationError(c);
  if (broken !== null) throw new ConfigError(broken.setting, broken.reason);
  if (c.walMode === 'shared' && c.sharedWalDir === '') {
    throw new ConfigError('sharedWalDir', 'required when walMode is shared');
  }
  if (c.sharedWalDir !== '') c.sharedWalDir = resolve(c.sharedWalDir);
  const overridesError = parseConnectionOverrides(c.maxConnectionsPerIpOverrides).error;
  if (overridesError !== null) {
    throw new ConfigError('maxConnectionsPerIpOverrides', overridesError);
  }
  if (c.coordinator === 'etcd' && c.etcdEndpoints.length === 0) {
    throw new ConfigError('etcdEndpoints', 'required when coordinator is etcd');
  }
  if (c.coordinator === 'etcd' && c.walMode === 'local') {
    throw new ConfigError('walMode', 'cluster mode (coordinator=etcd) needs walMode shared or object: a local WAL dies with its broker');
  }
  if (c.coordinator === 'etcd' && listeners.some((l) => l.port === 0)) {
    throw new ConfigError(c.listeners === '' ? 'port' : 'listeners',
      'cluster mode registers a fixed port in etcd; 0 is not allowed');
  }
  if (c.coordinator === 'etcd' && c.objectStore === 'local' && c.objectStoreDir === join(c.dataDir, 'objects')) {
    throw new ConfigError('objectStoreDir', 'cluster mode needs object storage every broker reaches: set objectStore=s3 or a shared objectStoreDir');
  }
  if (c.authorizerClassName !== '' && !AUTHORIZER_CLASS_NAMES.includes(c.authorizerClassName)) {
    throw new ConfigError('authorizerClassName',
      `expected empty or ${AUTHORIZER_CLASS_NAMES.join(' or ')}, got "${c.authorizerClassName}"`);
  }
  const badSuperUser = parseSuperUsers(c.superUsers).find((p) => !/^[^:]+:.+$/.test(p));
  if (badSuperUser !== undefined) {
    throw new ConfigError('superUsers', `"${badSuperUser}" is not a principal like User:alice`);
  }
  return c;
}

/** Where broker `nodeId` keeps its WAL in walMode=shared: every broker opens its own there, and
 *  a new leader replays a dead broker's from there (cluster/recover-partition.ts). */
export function brokerWalDir(sharedWalDir: string, nodeId: number): string {
  return join(sharedWalDir, String(nodeId));
}

export function describeSettings(): string {
  return Object.entries(SETTINGS).map(([name, s]) =>
    `  --${kebabCase(name).padEnd(34)} ${s.help} (default: ${JSON.stringify(s.default)}; env ${envName(name)})`)
    .join('\n');
}
