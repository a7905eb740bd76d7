/**
 * Apache Kafka's own Java client and CLI tools, for compatibility tests and benchmarks.
 *
 * The jars come from Maven Central through bench/kafka/fetch-kafka.sh (idempotent: a cached copy
 * is reused without Maven or network). A CLI tool is its main class run as
 * `java -cp '<libs>/*' <Class> args...` (what bin/kafka-*.sh do), with quiet log4j2 logging;
 * small Java programs (test/compat/java/*.java) are compiled against the same jars once per
 * source content and Kafka version, into a folder under the OS temp dir.
 *
 * Environment: LEDGERSTREAM_KAFKA_VERSION and LEDGERSTREAM_KAFKA_HOME choose the Kafka version
 * and cache folder (see fetch-kafka.sh); LEDGERSTREAM_JAVA names the java binary (else PATH).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');
const FETCH_SCRIPT = path.join(REPO, 'bench/kafka/fetch-kafka.sh');
/** First fetch downloads ~55 MB through Maven; later runs return at once. */
const FETCH_MS_MAX = 8 * 60_000;
const COMPILE_MS_MAX = 120_000;
const OUTPUT_CHARS_MAX = 4 * 1024 * 1024;

const JAVA = process.env.LEDGERSTREAM_JAVA ?? 'java';
/** javac next to the chosen java when LEDGERSTREAM_JAVA is a path, else javac on PATH. */
const JAVAC = process.env.LEDGERSTREAM_JAVA ? path.join(path.dirname(process.env.LEDGERSTREAM_JAVA), 'javac') : 'javac';

/**
 * Heap and JIT settings as Kafka's bin scripts use for tools (-Xmx256M), plus a quick-start JIT:
 * tools live about a second, and several may share two cores.
 */
const JVM_FLAGS = ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true'];

/**
 * Main classes of the CLI tools, newest location first: Kafka moved tools from Scala (core,
 * `kafka.*`) to Java (`org.apache.kafka.tools.*`) across 3.5-4.0. The first candidate found in
 * the fetched jars is used, so an older LEDGERSTREAM_KAFKA_VERSION works too.
 * Verified against Kafka 4.3.1: every tool resolves to its first candidate, except ConfigCommand,
 * which is still Scala in kafka_2.13.
 */
export const KAFKA_TOOL_CANDIDATES = {
  /** kafka-topics.sh */
  topics: ['org.apache.kafka.tools.TopicCommand', 'kafka.admin.TopicCommand'],
  /** kafka-console-producer.sh */
  consoleProducer: ['org.apache.kafka.tools.ConsoleProducer', 'kafka.tools.ConsoleProducer'],
  /** kafka-console-consumer.sh */
  consoleConsumer: ['org.apache.kafka.tools.consumer.ConsoleConsumer', 'kafka.tools.ConsoleConsumer'],
  /** kafka-consumer-groups.sh */
  consumerGroups: ['org.apache.kafka.tools.consumer.group.ConsumerGroupCommand', 'kafka.admin.ConsumerGroupCommand'],
  /** kafka-configs.sh */
  configs: ['org.apache.kafka.tools.ConfigCommand', 'kafka.admin.ConfigCommand'],
  /** kafka-producer-perf-test.sh */
  producerPerf: ['org.apache.kafka.tools.ProducerPerformance'],
  /** kafka-consumer-perf-test.sh */
  consumerPerf: ['org.apache.kafka.tools.ConsumerPerformance', 'kafka.tools.ConsumerPerformance'],
  /** kafka-get-offsets.sh */
  getOffsets: ['org.apache.kafka.tools.GetOffsetShell', 'kafka.tools.GetOffsetShell'],
  /** kafka-delete-records.sh */
  deleteRecords: ['org.apache.kafka.tools.DeleteRecordsCommand', 'kafka.admin.DeleteRecordsCommand'],
  /** kafka-acls.sh */
  acls: ['org.apache.kafka.tools.AclCommand', 'kafka.admin.AclCommand'],
  /** kafka-transactions.sh */
  transactions: ['org.apache.kafka.tools.TransactionsCommand'],
  /** kafka-storage.sh (format a KRaft log dir before starting a real Kafka) */
  storage: ['org.apache.kafka.tools.StorageTool', 'kafka.tools.StorageTool'],
  /** kafka-server-start.sh (a real Kafka broker) */
  server: ['kafka.Kafka'],
} as const;
export type KafkaTool = keyof typeof KAFKA_TOOL_CANDIDATES;

export interface KafkaJars {
  version: string;
  /** The folder holding the jars; the classpath is `${libs}/*`. */
  libs: string;
  /** The cache folder: libs/ and config/. */
  home: string;
  /** log4j2 configuration for tools: WARN and above, to stderr. */
  toolsLog4j: string;
  /** log4j2 configuration for a real broker: INFO, to stdout. */
  serverLog4j: string;
  /** Resolves a tool's main class in these jars (throws if none of its candidates is there). */
  toolClass(tool: KafkaTool): string;
}

export interface RunResult {
  /** The command line, for failure messages. */
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

export interface RunOptions {
  /** Killed (SIGKILL) after this long; the result then has timedOut. Default 60 s. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed (stdin is closed at once without it). */
  input?: string;
  /** Extra JVM flags (-D..., -X...). */
  jvmArgs?: string[];
  /**
   * Replaces the default heap/GC/JIT flags (a small heap and a quick-start JIT, right for short
   * CLI calls), e.g. with the flags Kafka's scripts give a long-running broker or a perf tool.
   */
  jvmFlags?: string[];
  /** Extra classpath entries after the Kafka jars. */
  classpath?: string[];
  env?: NodeJS.ProcessEnv;
  /** Aborting kills the process (SIGKILL); the result is then reported as usual. */
  signal?: AbortSignal;
}

/** True when a `java` binary runs (`java -version` exits 0). */
export function javaAvailable(): boolean {
  const r = spawnSync(JAVA, ['-version'], { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

let jarsPromise: Promise<KafkaJars> | undefined;

/** Fetches (first time) or finds (cached) Kafka's jars; memoized per process. */
export function kafkaJars(): Promise<KafkaJars> {
  jarsPromise ??= loadJars();
  return jarsPromise;
}

async function loadJars(): Promise<KafkaJars> {
  let stdout: string;
  try {
    ({ stdout } = await execFileP('bash', [FETCH_SCRIPT], { timeout: FETCH_MS_MAX, maxBuffer: OUTPUT_CHARS_MAX }));
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`bench/kafka/fetch-kafka.sh failed: ${err.message}\n${err.stderr ?? ''}`);
  }
  const libs = stdout.trim().split('\n').pop()!.trim();
  const home = path.dirname(libs);
  const version = (await readFile(path.join(home, '.complete'), 'utf8')).trim();
  // Jar entry names are stored uncompressed (local headers and central directory), so a class is
  // in a jar iff its path appears in the jar's bytes. Only Kafka's own jars hold tool classes.
  const kafkaJarNames = (await readdir(libs)).filter((f) => /^kafka[-_].*\.jar$/.test(f));
  const jarBytes = await Promise.all(kafkaJarNames.map((f) => readFile(path.join(libs, f))));
  const resolved = new Map<KafkaTool, string>();
  const toolClass = (tool: KafkaTool): string => {
    const hit = resolved.get(tool);
    if (hit) return hit;
    for (const cls of KAFKA_TOOL_CANDIDATES[tool]) {
      const entry = `${cls.replace(/\./g, '/')}.class`;
      if (jarBytes.some((b) => b.includes(entry))) {
        resolved.set(tool, cls);
        return cls;
      }
    }
    throw new Error(`no main class for ${tool} in Kafka ${version} jars (tried ${KAFKA_TOOL_CANDIDATES[tool].join(', ')})`);
  };
  return {
    version, libs, home, toolClass,
    toolsLog4j: path.join(home, 'config', 'tools-log4j2.properties'),
    serverLog4j: path.join(home, 'config', 'log4j2.properties'),
  };
}

/** Runs `java` with the Kafka jars on the classpath; never rejects on a non-zero exit. */
export async function runJava(mainClass: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const jars = await kafkaJars();
  const cp = [path.join(jars.libs, '*'), ...(options.classpath ?? [])].join(path.delimiter);
  const javaArgs = [...(options.jvmFlags ?? JVM_FLAGS), `-Dlog4j2.configurationFile=${jars.toolsLog4j}`, ...(options.jvmArgs ?? []),
    '-cp', cp, mainClass, ...args];
  const shown = [mainClass, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ');
  return runProcess(JAVA, javaArgs, options, `java -cp '${cp}' ${shown}`);
}

/** Runs one of Kafka's CLI tools (its main class), e.g. runKafkaTool('topics', ['--list', ...]). */
export async function runKafkaTool(tool: KafkaTool, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const jars = await kafkaJars();
  return runJava(jars.toolClass(tool), args, options);
}

/** Throws with the command, exit status, stdout and stderr unless it exited 0. */
export function expectSuccess(result: RunResult, context = ''): RunResult {
  if (result.code !== 0) throw new Error(describeRun(result, context));
  return result;
}

/** A failure report for a tool run: command, how it ended, its output (and any context). */
export function describeRun(result: RunResult, context = ''): string {
  const how = result.timedOut ? `timed out after ${result.ms} ms` : `exited ${result.code ?? result.signal}`;
  return [`${result.command}: ${how}`, `--- stdout\n${result.stdout.slice(-8000)}`,
    `--- stderr\n${result.stderr.slice(-8000)}`, context].filter((s) => s !== '').join('\n');
}

/**
 * Compiles Java sources against the Kafka jars (once per source content and Kafka version) and
 * returns the classes folder, for RunOptions.classpath; `classpath` adds jars beyond Kafka's.
 * Concurrent callers are safe: each compiles into its own temp folder and renames it into place.
 */
export async function compileJava(sources: string[], classpath: string[] = []):
  Promise<string> {
  const jars = await kafkaJars();
  const hash = createHash('sha256').update(jars.version).update(classpath.join(path.delimiter));
  for (const s of sources) hash.update(s).update(await readFile(s));
  const root = path.join(tmpdir(), 'ledgerstream-java-compat');
  const out = path.join(root, hash.digest('hex').slice(0, 16));
  if (existsSync(path.join(out, '.compiled'))) return out;
  await mkdir(root, { recursive: true });
  const work = await mkdtemp(path.join(root, 'build-'));
  const r = await runProcess(JAVAC, ['-nowarn', '-encoding', 'UTF-8', '-d', work, '-cp',
    [path.join(jars.libs, '*'), ...classpath].join(path.delimiter), ...sources],
    { timeoutMs: COMPILE_MS_MAX }, `javac ${sources.join(' ')}`);
  if (r.code !== 0) {
    await rm(work, { recursive: true, force: true });
    throw new Error(describeRun(r));
  }
  await writeFile(path.join(work, '.compiled'), jars.version);
  try {
    await rename(work, out);
  } catch {
    // Another process put the same classes in place first.
    await rm(work, { recursive: true, force: true });
  }
  return out;
}

function runProcess(cmd: string, args: string[], options: RunOptions, label: string): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => { if (stdout.length < OUTPUT_CHARS_MAX) stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { if (stderr.length < OUTPUT_CHARS_MAX) stderr += b.toString(); });
    child.stdin.on('error', () => {}); // a tool that exits before reading its input
    child.stdin.end(options.input ?? '');
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    const onAbort = () => child.kill('SIGKILL');
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => { clearTimeout(timer); reject(new Error(`${label}: ${e.message}`)); });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ command: label, code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
}
