/**
 * The SQLite engine: every store's contract on a temp file and in memory (contract/), then what
 * only this engine can get wrong — pragmas, migrations, the object live counts behind the
 * interface, the query plan of SegmentIndex.list, and durability across a SIGKILL.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SqliteMetadata,
  metadataFilePath,
  schemaVersionLatest,
} from '../../src/metadata/sqlite/metadata.js';
import { IndexContinuityError } from '../../src/metadata/rules.js';
import {
  at,
  commitOf,
  producerState,
  topicRecord,
  type MetadataHarness,
} from './contract/fixtures.js';
import { runMetadataContracts } from './contract/run.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const recordsPerCommit = 10; // as in commit-loop-child.ts
const childScript = fileURLToPath(new URL('./commit-loop-child.ts', import.meta.url));

async function freshDataDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-metadata-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function fileHarness(): Promise<MetadataHarness> {
  const { dir, cleanup } = await freshDataDir();
  const filePath = metadataFilePath(dir);
  let open = new SqliteMetadata(filePath);
  return {
    metadata: open,
    reopen: async () => {
      await open.close();
      open = new SqliteMetadata(filePath);
      return open;
    },
    cleanup: async () => {
      await open.close();
      await cleanup();
    },
  };
}

runMetadataContracts('SQLite file', fileHarness);

runMetadataContracts('SQLite :memory:', async () => {
  const metadata = new SqliteMetadata(':memory:');
  return { metadata, cleanup: () => metadata.close() };
});

describe('SQLite engine specifics', () => {
  let dir: string;
  let cleanupDir: () => Promise<void>;
  let filePath: string;
  beforeEach(async () => {
    ({ dir, cleanup: cleanupDir } = await freshDataDir());
    filePath = metadataFilePath(dir);
  });
  afterEach(async () => {
    await cleanupDir();
  });

  it('opens in WAL mode with synchronous FULL at the latest schema version', async () => {
    const coordinator = new SqliteMetadata(filePath);
    expect(coordinator.storageSettings()).toEqual(
      { journalMode: 'wal', synchronous: 2, schemaVersion: schemaVersionLatest });
    await coordinator.close();
    await coordinator.close(); // idempotent
  });

  it('migrates idempotently: reopening keeps one version row and the same cluster id', async () => {
    const first = new SqliteMetadata(filePath);
    const clusterId = first.clusterId();
    await first.topics.create(topicRecord('t', 1), 1);
    await first.close();
    for (let i = 0; i < 3; i++) {
      const again = new SqliteMetadata(filePath);
      expect(again.clusterId()).toBe(clusterId);
      expect((await again.topics.list()).map((t) => t.name)).toEqual(['t']);
      await again.close();
    }
    const raw = new Database(filePath, { readonly: true });
    expect(raw.prepare('SELECT singleton, version FROM schema_version').all()).toEqual(
      [{ singleton: 1, version: schemaVersionLatest }]);
    expect(raw.prepare('SELECT count(*) AS n FROM cluster').get()).toEqual({ n: 1 });
    raw.close();
  });

  it('refuses a database written by a newer schema', async () => {
    await new SqliteMetadata(filePath).close();
    const raw = new Database(filePath);
    raw.prepare('UPDATE schema_version SET version = ?').run(schemaVersionLatest + 1);
    raw.close();
    expect(() => new SqliteMetadata(filePath)).toThrow(/newer than this broker supports/);
  });

  it('names a contiguity violation with IndexContinuityError', async () => {
    const coordinator = new SqliteMetadata(filePath);
    const topic = topicRecord('contig', 1);
    await coordinator.topics.create(topic, 1);
    await coordinator.segments.commit(commitOf('o/1', [at(topic.topicId, 0, 0, 9)]));
    const gap = coordinator.segments.commit(commitOf('o/2', [at(topic.topicId, 0, 11, 19)]));
    await expect(gap).rejects.toBeInstanceOf(IndexContinuityError);
    await expect(gap).rejects.toMatchObject({ indexedEndOffset: 10, baseOffset: 11 });
    await coordinator.close();
  });

  it('keeps object live counts equal to the index entries naming each object', async () => {
    const coordinator = new SqliteMetadata(filePath);
    await runMixedWorkload(coordinator);
    const raw = new Database(filePath, { readonly: true });
    const counts = raw.prepare(`SELECT o.object_key AS objectKey, o.live_entries AS live,
      (SELECT count(*) FROM segments s WHERE s.object_key = o.object_key) AS entries
      FROM objects o ORDER BY o.object_key`).all() as
      { objectKey: string; live: number; entries: number }[];
    expect(counts.length).toBeGreaterThan(0);
    for (const row of counts) expect(row.live).toBe(row.entries);
    expect(counts.every((row) => row.live > 0)).toBe(true);
    expect(raw.pragma('foreign_key_check')).toEqual([]);
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    raw.close();
    await coordinator.close();
  });

  it('serves listSegments from the last_offset index, without a sort', async () => {
    const coordinator = new SqliteMetadata(filePath);
    const raw = new Database(filePath, { readonly: true });
    const plan = raw.prepare(`EXPLAIN QUERY PLAN SELECT * FROM segments WHERE topic_id = ?
      AND partition = ? AND last_offset >= ? ORDER BY last_offset LIMIT ?`)
      .all('t', 0, 0, 10) as { detail: string }[];
    const details = plan.map((row) => row.detail).join('\n');
    expect(details).toMatch(/segments_by_last_offset/);
    expect(details).not.toMatch(/TEMP B-TREE/);
    raw.close();
    await coordinator.close();
  });

  it('loses no commit whose promise resolved when the process is SIGKILLed', async () => {
    const killRounds = 3;
    const printed: Printed = { lastOffsets: [], lastOffsetMax: -1, producerIdMax: -1,
      groupOffsetMax: -1 };
    for (let round = 0; round < killRounds; round++) {
      const lines = await runChildUntilKilled(filePath, 20 + round * 17);
      const readyEnd = Number(lines.find((line) => line.startsWith('ready '))?.split(' ')[1]);
      // It resumes after every reported commit, plus at most one it made but did not report.
      expect(readyEnd - (printed.lastOffsetMax + 1)).oneOf([0, recordsPerCommit]);
      collectPrinted(lines, printed);
    }
    const coordinator = new SqliteMetadata(filePath);
    const topic = await coordinator.topics.get('kill-test');
    expect(topic).not.toBeNull();
    const [state] = await coordinator.leadership.states(topic!.topicId);
    expect(state!.indexedEndOffset).toBeGreaterThan(printed.lastOffsetMax);
    const entries = await coordinator.segments.list(topic!.topicId, 0, 0, 1_000_000);
    // Contiguous from 0 up to the index end, and every reported commit is one of the entries.
    entries.forEach((entry, i) => expect(entry.baseOffset).toBe(i * recordsPerCommit));
    expect(entries.at(-1)!.lastOffset + 1).toBe(state!.indexedEndOffset);
    const indexedLastOffsets = new Set(entries.map((entry) => entry.lastOffset));
    const missing = printed.lastOffsets.filter((offset) => !indexedLastOffsets.has(offset));
    expect(missing).toEqual([]);
    expect(printed.lastOffsets.length).toBeGreaterThan(killRounds * 20);
    expect(await coordinator.producers.allocate()).toBeGreaterThan(printed.producerIdMax);
    const [offset] = await coordinator.offsets.fetch('kill');
    expect(offset!.offset).toBeGreaterThanOrEqual(printed.groupOffsetMax);
    await coordinator.close();
  });
});

/** Commits, retention and a topic delete over shared objects: everything that moves live counts. */
async function runMixedWorkload(c: SqliteMetadata): Promise<void> {
  const a = topicRecord('a', 2);
  const b = topicRecord('b', 1);
  await c.topics.create(a, 1);
  await c.topics.create(b, 1);
  const key = (t: string, p: number): string => `${t}:${p}`;
  for (let i = 0; i < 10; i++) {
    const base = i * 10;
    await c.segments.commit(commitOf(`o/${i}`, [at(a.topicId, 0, base, base + 9),
      at(a.topicId, 1, base, base + 4), at(a.topicId, 1, base + 5, base + 9),
      at(b.topicId, 0, base, base + 9)],
    { producerStates: new Map([[key(a.topicId, 0), [producerState(1, base + 9)]]]) }));
  }
  await c.segments.commit(commitOf('o/5', [at(a.topicId, 0, 50, 59)])); // replay, same key
  await c.segments.advanceLogStart(a.topicId, 0, 45);
  await c.segments.advanceLogStart(a.topicId, 1, 72);
  await c.segments.advanceLogStart(b.topicId, 0, 20);
  await c.topics.delete('b');
}

/** Starts the child, lets it print `commitsBeforeKill` commits, SIGKILLs it, returns its lines. */
async function runChildUntilKilled(filePath: string, commitsBeforeKill: number):
  Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, filePath],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // 'close', not 'exit': it waits for stdout to drain, so no reported line is missed.
  const closed = new Promise<NodeJS.Signals | null>((resolve) => {
    child.on('close', (_code, signal) => resolve(signal));
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const commits = stdout.split('\n').filter((line) => line.startsWith('committed ')).length;
      if (commits >= commitsBeforeKill) resolve();
    });
    child.on('exit', () => reject(new Error(`child exited early: ${stderr}`)));
  });
  child.kill('SIGKILL'); // mid-loop: the next commit is in flight or about to be
  expect(await closed).toBe('SIGKILL');
  // Only whole lines: a line cut by the kill was never fully reported.
  return stdout.split('\n').slice(0, -1);
}

/** What the child reported as done, over all its runs. */
interface Printed {
  lastOffsets: number[];
  lastOffsetMax: number;
  producerIdMax: number;
  groupOffsetMax: number;
}

function collectPrinted(lines: string[], printed: Printed): void {
  for (const line of lines) {
    const [kind, value] = line.split(' ');
    const n = Number(value);
    if (kind === 'committed') printed.lastOffsets.push(n);
    if (kind === 'committed') printed.lastOffsetMax = Math.max(printed.lastOffsetMax, n);
    if (kind === 'producer') printed.producerIdMax = Math.max(printed.producerIdMax, n);
    if (kind === 'offset') printed.groupOffsetMax = Math.max(printed.groupOffsetMax, n);
  }
}
