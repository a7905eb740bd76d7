/** ProducerIds on SQLite: one counter row, and the `producer_states` rows commits write. */
import assert from 'node:assert/strict';
import type { ProducerPartitionState } from '../records.js';
import type { ProducerIds } from '../stores.js';
import type { SqliteDatabase } from './database.js';
import type { SqliteWriter } from './writer.js';

export const producerWrites = {
  producerIdAllocate(d: SqliteDatabase): number {
    const producerId = d.s.nextProducerId.get();
    assert.ok(producerId !== undefined && Number.isSafeInteger(producerId) && producerId >= 0);
    return producerId;
  },
};

export class SqliteProducerIds implements ProducerIds {
  constructor(private readonly d: SqliteDatabase, private readonly writer: SqliteWriter) {}

  async allocate(): Promise<number> {
    return this.writer.run('producerIdAllocate');
  }

  async loadStates(topicId: string, partition: number): Promise<ProducerPartitionState[]> {
    return this.d.s.selectProducerStates.all(topicId, partition)
      .map((row) => JSON.parse(row.state_json) as ProducerPartitionState);
  }
}
