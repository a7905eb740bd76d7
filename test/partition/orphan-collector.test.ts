/**
 * The orphan collector deletes segment objects no index entry references once they are old
 * enough, and keeps referenced and young ones (an upload between its PUT and its commit).
 */
import { mkdtemp, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { SqliteMetadata } from '../../src/metadata/sqlite/metadata.js';
import { collectOrphans } from '../../src/partition/orphan-collector.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { LocalFolderStore } from '../../storage/object-store/local-folder.js';
import { buildSegmentObject } from '../../storage/segment/writer.js';
import { formatSegmentKey } from '../../storage/segment/naming.js';

it('deletes old unreferenced objects only', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ls-orphans-'));
  const store = await LocalFolderStore.open({ rootDir: path.join(dir, 'objects') });
  const metadata = new SqliteMetadata(':memory:');
  const topicId = 'AAAAAAAAAAAAAAAAAAAAAQ';
  await metadata.topics.create({ name: 't', topicId, partitionCount: 1, configs: {}, createdAtMs: 0 }, 1);
  const batch = await encodeBatch({ records: [{ key: null, value: Buffer.from('x') }], baseTimestamp: 1 });
  const built = buildSegmentObject([{ topicId, partition: 0, batches: [batch] }]);
  const key = (n: number) => formatSegmentKey({ createdAtMs: n, nodeId: 1, nonce: '0000000' + n });
  const [referenced, oldOrphan, youngOrphan] = [key(1), key(2), key(3)];
  for (const k of [referenced, oldOrphan, youngOrphan]) await store.put(k, built.body);
  const r = built.ranges[0]!;
  await metadata.segments.commit({ objectKey: referenced, objectSizeBytes: built.body.length,
    entries: [{ topicId, partition: 0, baseOffset: 0, lastOffset: 0, objectKey: referenced,
      position: r.position, sizeBytes: r.sizeBytes, maxTimestampMs: 1, leaderEpoch: 0 }],
    producerStates: new Map(), leaderEpochs: new Map([[`${topicId}:0`, 0]]) });
  const hourAgo = new Date(Date.now() - 3600_000);
  for (const k of [referenced, oldOrphan]) await utimes(path.join(dir, 'objects', k), hourAgo, hourAgo);

  const deleted = await collectOrphans(store, metadata, Date.now(), 600_000);
  expect(deleted).toEqual([oldOrphan]);
  expect(await store.get(oldOrphan)).toBeNull();
  expect(await store.get(referenced)).not.toBeNull();
  expect(await store.get(youngOrphan)).not.toBeNull();
  await metadata.close();
});
