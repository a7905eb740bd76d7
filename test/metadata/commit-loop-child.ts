/**
 * Child process for the kill test in embedded.test.ts: opens the coordinator file in argv[2],
 * continues the partition's index where it ends, and commits until it is SIGKILLed.
 *
 * Protocol on stdout (writeSync, so a line is in the pipe before the next commit starts, and a
 * line is only written after the promise of what it reports has resolved):
 *   ready <indexedEndOffset>      opened; the index of partition 0 ends there
 *   committed <lastOffset>        commitSegments up to lastOffset resolved
 *   producer <producerId>         producers.allocate resolved
 *   offset <offset>               commitOffsets of group `kill` at offset resolved
 */
import { randomUUID } from 'node:crypto';
import { writeSync } from 'node:fs';
import type { SegmentCommit } from '../../src/metadata/records.js';
import { SqliteMetadata } from '../../src/metadata/sqlite/metadata.js';

// Not imported from the contract file: that imports vitest, which belongs inside the runner.
const killTopicName = 'kill-test';
const killGroupId = 'kill';
const recordsPerCommit = 10;
const bytesPerRecord = 100;

function commitFor(topicId: string, baseOffset: number, lastOffset: number): SegmentCommit {
  const objectKey = `objects/${String(baseOffset).padStart(20, '0')}.seg`;
  const sizeBytes = (lastOffset - baseOffset + 1) * bytesPerRecord;
  return {
    objectKey,
    objectSizeBytes: sizeBytes,
    entries: [{ topicId, partition: 0, baseOffset, lastOffset, objectKey, position: 0, sizeBytes,
      maxTimestampMs: Date.now(), leaderEpoch: 0 }],
    producerStates: new Map(),
    leaderEpochs: new Map([[`${topicId}:0`, 0]]),
  };
}

function say(line: string): void {
  writeSync(1, line + '\n');
}

const filePath = process.argv[2];
if (!filePath) throw new Error('usage: commit-loop-child.ts <database file>');
const coordinator = new SqliteMetadata(filePath);
if ((await coordinator.topics.get(killTopicName)) === null) {
  const topicId = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
  await coordinator.topics.create({ name: killTopicName, topicId, partitionCount: 1, configs: {},
    createdAtMs: Date.now() }, 1);
}
const topic = await coordinator.topics.get(killTopicName);
if (topic === null) throw new Error('topic vanished');
const [state] = await coordinator.leadership.states(topic.topicId);
if (state === undefined) throw new Error('no partition 0');
say(`ready ${state.indexedEndOffset}`);

for (let baseOffset = state.indexedEndOffset; ; baseOffset += recordsPerCommit) {
  const lastOffset = baseOffset + recordsPerCommit - 1;
  await coordinator.segments.commit(commitFor(topic.topicId, baseOffset, lastOffset));
  say(`committed ${lastOffset}`);
  if (baseOffset % (recordsPerCommit * 5) === 0) {
    say(`producer ${await coordinator.producers.allocate()}`);
    await coordinator.offsets.commit(killGroupId, [{ topic: killTopicName, partition: 0,
      offset: lastOffset, leaderEpoch: 0, metadata: null, commitTimestampMs: Date.now() }]);
    say(`offset ${lastOffset}`);
  }
}
