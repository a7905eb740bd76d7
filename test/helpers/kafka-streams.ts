/**
 * Kafka Streams' jars (kafka-streams and its runtime dependencies) from Maven Central, through
 * test/txn/streams/pom.xml, into ~/.cache/ledgerstream/kafka-streams-<version>/libs once (a
 * marker file names the version; later calls need neither Maven nor the network). Run beside
 * Kafka's own jars (kafka-tools.ts): the classpath is both folders.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { COMPAT_CACHE_DIR } from './run-command.js';

const execFileP = promisify(execFile);
const POM = path.resolve(import.meta.dirname, '../txn/streams/pom.xml');
/** The first fetch downloads ~60 MB (RocksDB's JNI jar is most of it). */
export const STREAMS_FETCH_MS_MAX = 8 * 60_000;

let libsPromise: Promise<string> | undefined;

/** The folder of Kafka Streams' jars (its classpath entry is `<folder>/*`); memoized. */
export function kafkaStreamsJars(): Promise<string> {
  libsPromise ??= fetchJars();
  return libsPromise;
}

async function fetchJars(): Promise<string> {
  const version = /<kafka.version>(.*)<\/kafka.version>/.exec(await readFile(POM, 'utf8'))![1]!;
  const home = path.join(COMPAT_CACHE_DIR, `kafka-streams-${version}`);
  const libs = path.join(home, 'libs');
  const marker = path.join(home, '.complete');
  if (existsSync(marker) && (await readFile(marker, 'utf8')).trim() === version) return libs;
  await rm(libs, { recursive: true, force: true });
  await mkdir(home, { recursive: true });
  const build = await mkdtemp(path.join(home, '.build-'));
  try {
    await execFileP('mvn', ['-B', '-q', '-Dstyle.color=never', '-f', POM, 'package',
      `-Dstreams.libs.dir=${libs}`, `-Dproject.build.directory=${build}`],
    { timeout: STREAMS_FETCH_MS_MAX, maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    const err = e as Error & { stdout?: string };
    throw new Error(`Maven could not fetch Kafka Streams ${version}: ${err.message}\n`
      + `${err.stdout ?? ''}`);
  } finally {
    await rm(build, { recursive: true, force: true });
  }
  await writeFile(marker, version);
  return libs;
}
