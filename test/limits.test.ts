/**
 * The relations between limits (src/limits.ts, storage/limits.ts): every assertion holds for the
 * values shipped, and each one fails when fed a combination that breaks it, so none of them is
 * an assertion that cannot fail. The relations between settings fail start-up with one line.
 */
import { describe, expect, it } from 'vitest';
import {
  type BrokerLimits, type RelatedSettings, assertBrokerLimits, brokerLimits, orphanAgeMsFloor,
  settingRelationError, uploadPartitionsPerObjectMax,
} from '../src/limit-relations.js';
import { settingDefaults } from '../src/limits.js';
import { commitSegmentsTxnOpsMax } from '../src/metadata/etcd/segments.js';
import { type Limits, assertLimits, batchBytesMax, limits } from '../storage/limits.js';

type Section = Exclude<keyof BrokerLimits, 'batchBytesMax'>;

/** A copy of the broker's limits with one value changed. */
function withBroker(section: Section, changes: Record<string, number>): BrokerLimits {
  return { ...brokerLimits, [section]: { ...brokerLimits[section], ...changes } };
}

const MiB = 1024 * 1024;
const s = settingDefaults;

/** Each row breaks one relation; the assertion message it must fail with. */
const brokenBrokerLimits: [string, BrokerLimits, RegExp][] = [
  ['message > WAL entry', withBroker('settings', { messageBytesMax: batchBytesMax + 1 }),
    /a message fits a WAL entry/],
  ['messageBytesMax bound > WAL entry',
    withBroker('bounds', { messageBytesMaxMax: batchBytesMax + 1 }),
    /no messageBytesMax allowed exceeds a WAL entry/],
  ['request < WAL entry', withBroker('settings', { requestBytesMax: batchBytesMax }),
    /a WAL entry fits a request/],
  ['request > client memory',
    withBroker('settings', { clientMemoryBytesMax: s.requestBytesMax - 1 }),
    /a request fits clientMemoryBytesMax/],
  ['fetch > client memory', withBroker('settings', { fetchMaxBytes: s.clientMemoryBytesMax + 1 }),
    /a fetch answer fits clientMemoryBytesMax/],
  ['unsent > client memory', withBroker('settings', { unsentBytesMax: s.clientMemoryBytesMax + 1 }),
    /unsent bytes fit clientMemoryBytesMax/],
  ['held produce answer near the client timeout',
    withBroker('produce', { handoffAnswerWaitMsMax: 10_000 }),
    /a held produce answer comes well within a client request timeout/],
  ['smallest WAL segment < WAL entry',
    withBroker('bounds', { walSegmentBytesMin: limits.walEntryBytesMax }),
    /the smallest walSegmentBytesMax holds the largest WAL entry/],
  ['WAL segment default below its bound',
    withBroker('settings', { walSegmentBytesMax: limits.walEntryBytesMax }),
    /walSegmentBytesMax default/],
  ['upload object above its bound',
    withBroker('settings', { uploadObjectBytesMax: limits.uploadObjectBytesMax + 1 }),
    /uploadObjectBytesMax/],
  ['upload trigger above the backlog limit',
    withBroker('settings', { uploadBytesMax: s.uploadBacklogBytesMax + 1 }),
    /an upload starts before produce is refused/],
  ['upload interval past the client timeout', withBroker('settings', { uploadIntervalMs: 30_000 }),
    /an upload is tried within a client request timeout/],
  ['orphans collected while being committed', withBroker('settings', { orphanAgeMsMin: 60_000 }),
    /an object being committed is never an orphan/],
  ['more partitions per object than a footer holds',
    withBroker('partition',
      { embeddedPartitionsPerObjectMax: brokerLimits.segment.rangesPerObjectMax + 1 }),
    /an object of the most partitions fits the segment footer/],
  ['a partition costs more ops than a transaction takes',
    withBroker('partition', { etcdCommitOpsPerPartition: 100 }),
    /a segment commit of one partition fits 64 ops/],
  ['no op left for the object key',
    withBroker('partition', { etcdCommitOpsFixed: 0, etcdCommitOpsPerPartition: 2 }),
    /partitions per object × ops per partition fit 64 ops/],
  ['handoff larger than the smallest transaction',
    withBroker('controller', { handoffOpsPerTxnMax: 65 }),
    /a handoff transaction fits the smallest etcdTxnOpsMax/],
  ['topic deletion larger than the smallest transaction',
    withBroker('etcd', { deleteTopicOpsFixed: 64 }),
    /a topic deletion fits/],
  ['smallest transaction below the engine overheads',
    { ...withBroker('bounds', { etcdTxnOpsMin: 7 }),
      controller: { ...brokerLimits.controller, handoffOpsPerTxnMax: 4 } },
    /fixed per-transaction overheads fit/],
  ['two etcdTxnOpsMax defaults',
    withBroker('etcd', { txnOpsMaxDefault: 256 }), /one etcdTxnOpsMax default/],
  ['producer list near the etcd request limit', withBroker('etcd', { producerStatesBytesMax: MiB }),
    /fit an etcd request with room for the rest/],
  ['producer lists of a commit as large as the etcd request',
    withBroker('etcd', { producerListsPerCommitBytesMax: 1.5 * MiB }),
    /fit an etcd request with room for the rest/],
  ['acknowledgement window past the lease',
    withBroker('settings', { ackWindowMs: s.leaseTtlMs + 1 }),
    /the acknowledgement window lies within the lease/],
  ['two leaseTtlMs defaults', withBroker('membership', { leaseTtlMsDefault: s.leaseTtlMs + 1 }),
    /one leaseTtlMs default/],
  ['safety margin past a keep-alive period',
    withBroker('membership', { safetyMarginTtlFraction: 0.5 }),
    /a keep-alive is due before the margin eats the validity it renews/],
  ['leave drain past the shutdown timeout',
    withBroker('handoff', { leaveDrainMsMax: s.shutdownTimeoutMs }),
    /a graceful leave drains within the shutdown timeout/],
  ['handoff drain past the leave drain', withBroker('handoff', { handoffDrainMsMax: 20_000 }),
    /a handoff within a leave/],
  ['group session bounds crossed',
    withBroker('settings', { groupSessionTimeoutMsMin: s.groupSessionTimeoutMsMax + 1 }),
    /group session bounds/],
];

describe('broker limits', () => {
  it('hold for the values shipped', () => {
    expect(() => assertBrokerLimits(brokerLimits)).not.toThrow();
  });

  for (const [name, broken, message] of brokenBrokerLimits) {
    it(`fail when broken: ${name}`, () => {
      expect(() => assertBrokerLimits(broken)).toThrow(message);
    });
  }

  it("partitions per object fit the etcd engine's own count of commit ops", () => {
    for (const txnOps of [brokerLimits.bounds.etcdTxnOpsMin, s.etcdTxnOpsMax, 1024]) {
      const partitions = uploadPartitionsPerObjectMax('etcd', txnOps);
      const leaderEpochs = new Map<string, number>();
      const entries = [];
      for (let p = 0; p < partitions; p++) {
        leaderEpochs.set(`t:${p}`, 0);
        entries.push({ topicId: 't', partition: p });
      }
      const ops = commitSegmentsTxnOpsMax({ entries, leaderEpochs } as unknown as
        Parameters<typeof commitSegmentsTxnOpsMax>[0]);
      expect(ops).toBeLessThanOrEqual(txnOps);
      expect(partitions).toBeGreaterThan(txnOps / 4); // not needlessly small
    }
    expect(uploadPartitionsPerObjectMax('embedded', 16))
      .toBe(brokerLimits.partition.embeddedPartitionsPerObjectMax);
  });
});

describe('setting relations', () => {
  const ok: RelatedSettings = {
    messageBytesMax: s.messageBytesMax, requestBytesMax: s.requestBytesMax,
    clientMemoryBytesMax: s.clientMemoryBytesMax,
    groupSessionTimeoutMsMin: s.groupSessionTimeoutMsMin,
    groupSessionTimeoutMsMax: s.groupSessionTimeoutMsMax, orphanAgeMsMin: s.orphanAgeMsMin,
    s3RequestTimeoutMs: s.s3RequestTimeoutMs,
  };

  it('hold for the defaults', () => {
    expect(settingRelationError(ok)).toBeNull();
  });

  const broken: [Partial<RelatedSettings>, string][] = [
    [{ groupSessionTimeoutMsMin: s.groupSessionTimeoutMsMax + 1 }, 'groupSessionTimeoutMsMin'],
    [{ messageBytesMax: 2048, requestBytesMax: 1024 }, 'messageBytesMax'],
    [{ requestBytesMax: s.clientMemoryBytesMax + 1 }, 'requestBytesMax'],
    [{ orphanAgeMsMin: orphanAgeMsFloor(s.s3RequestTimeoutMs) }, 'orphanAgeMsMin'],
    [{ s3RequestTimeoutMs: 600_000 }, 'orphanAgeMsMin'],
  ];
  for (const [change, setting] of broken) {
    it(`name ${setting} when ${JSON.stringify(change)}`, () => {
      expect(settingRelationError({ ...ok, ...change })?.setting).toBe(setting);
    });
  }
});

describe('storage limits', () => {
  type Changes = Partial<Record<keyof Limits, number>>;
  const withStorage = (changes: Changes): Limits => ({ ...limits, ...changes });
  const brokenStorageLimits: [Changes, RegExp][] = [
    [{ produceUncompressedBytesMax: limits.walEntryBytesMax - 1 }, /entry fits uncompressed/],
    [{ uploadObjectBytesMax: limits.walEntryBytesMax - 1 }, /a WAL entry fits in an upload object/],
    [{ uploadObjectBytesMax: 256 * MiB, produceUncompressedBytesMax: 256 * MiB },
      /an upload object and its largest footer fit in objectBytesMax/],
    [{ uploadBacklogBytesMax: limits.uploadObjectBytesMax - 1 }, /one object fits in the backlog/],
    [{ walSegmentBytesMax: limits.walEntryBytesMax }, /entryBytesMax < segmentBytesMax/],
    [{ walPendingBytesMax: limits.walEntryBytesMax - 1 }, /entryBytesMax <= pendingBytesMax/],
  ];

  it('hold for the values shipped', () => {
    expect(() => assertLimits(limits)).not.toThrow();
  });
  for (const [changes, message] of brokenStorageLimits) {
    it(`fail when broken: ${JSON.stringify(changes)}`, () => {
      expect(() => assertLimits(withStorage(changes))).toThrow(message);
    });
  }
});
