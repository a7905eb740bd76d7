/**
 * ProducerIds on etcd: ids are allocated in blocks of `producerIdsPerBlock` by a compare-and-set
 * on one counter key, then handed out from memory. Ids are unique forever and increase per
 * instance, but are NOT ordered across brokers (broker A may hand out 5 after broker B handed
 * out 100). Kafka needs uniqueness only; a block not used up before a restart is skipped, not
 * reused. Producer states are one bounded list per partition, written by SegmentIndex.commit.
 */
import assert from 'node:assert/strict';
import { getOp, modEquals, putOp, versionedOf } from '../../etcd/txn.js';
import type { ProducerPartitionState } from '../records.js';
import type { ProducerIds } from '../stores.js';
import { decodeCounter, decodeProducerStates, encodeCounter } from './codecs.js';
import type { EtcdEngine } from './engine.js';

export class EtcdProducerIds implements ProducerIds {
  private block = { next: 0, end: 0 };
  private refill: Promise<void> | null = null;

  constructor(private readonly e: EtcdEngine, private readonly idsPerBlock: number) {
    assert.ok(Number.isSafeInteger(idsPerBlock) && idsPerBlock > 0, 'producerIdsPerBlock');
  }

  async allocate(): Promise<number> {
    while (this.block.next >= this.block.end) {
      this.refill ??= this.refillBlock().finally(() => {
        this.refill = null;
      });
      await this.refill;
    }
    const producerId = this.block.next++;
    assert.ok(Number.isSafeInteger(producerId) && producerId >= 0);
    return producerId;
  }

  async loadStates(topicId: string, partition: number): Promise<ProducerPartitionState[]> {
    const response = await this.e.client.kv.range(
      { key: Buffer.from(this.e.keys.producers(topicId, partition)) });
    const [kv] = response.kvs;
    return kv === undefined ? [] : decodeProducerStates(kv.value);
  }

  private async refillBlock(): Promise<void> {
    const key = this.e.keys.producerIdNext();
    const block = await this.e.writeLoop('allocateProducerId', this.e.keyReads([getOp(key)],
      ([range]) => versionedOf(range, decodeCounter)), (view) => {
      const next = view.value ?? 0;
      return { compare: [modEquals(key, view.modRevision)],
        success: [putOp(key, encodeCounter(next + this.idsPerBlock))],
        result: { next, end: next + this.idsPerBlock } };
    });
    assert.ok(block.next >= this.block.end, 'blocks only move up');
    this.block = block;
  }
}
