/** TopicCatalog on SQLite: the `topics` table, and the partition rows created with a topic. */
import { TopicExistsError, type NewPartitionLeaders, type TopicRecord } from '../records.js';
import { assertTopicRecord } from '../rules.js';
import type { TopicCatalog } from '../stores.js';
import type { SqliteDatabase } from './database.js';
import { topicFromRow } from './statements.js';
import type { SqliteWriter } from './writer.js';

export const topicWrites = {
  topicCreate(d: SqliteDatabase, topic: TopicRecord, leaders: NewPartitionLeaders): void {
    const { s } = d;
    if (s.selectTopicByName.get(topic.name) !== undefined) {
      throw new TopicExistsError(`topic ${topic.name} exists`);
    }
    if (s.selectTopicById.get(topic.topicId) !== undefined) {
      throw new TopicExistsError(`topic id ${topic.topicId} is taken`);
    }
    s.insertTopic.run(topic.topicId, topic.name, topic.partitionCount,
      JSON.stringify(topic.configs), topic.createdAtMs);
    d.insertPartitions(topic.topicId, 0, topic.partitionCount, leaders);
  },

  topicDelete(d: SqliteDatabase, name: string): string[] {
    const { s } = d;
    const topic = d.requireTopicByName(name);
    const deadObjectKeys = d.releaseObjects(s.deleteSegmentsOfTopic.all(topic.topicId));
    s.deleteProducerStatesOfTopic.run(topic.topicId);
    s.deletePartitions.run(topic.topicId);
    s.deleteOffsetsOfTopic.run(name);
    s.deleteTopic.run(topic.topicId);
    return deadObjectKeys;
  },

  topicCreatePartitions(d: SqliteDatabase, name: string, partitionCount: number,
    leaders: NewPartitionLeaders): void {
    const topic = d.requireTopicByName(name);
    if (!(Number.isSafeInteger(partitionCount) && partitionCount > topic.partitionCount)) {
      throw new RangeError(`topic ${name} has ${topic.partitionCount} partitions; ` +
        `${partitionCount} does not raise that`);
    }
    d.insertPartitions(topic.topicId, topic.partitionCount, partitionCount, leaders);
    d.s.updatePartitionCount.run(partitionCount, topic.topicId);
  },

  topicSetConfigs(d: SqliteDatabase, name: string, configs: Record<string, string>): void {
    const topic = d.requireTopicByName(name);
    d.s.updateConfigs.run(JSON.stringify(configs), topic.topicId);
  },
};

export class SqliteTopicCatalog implements TopicCatalog {
  constructor(private readonly d: SqliteDatabase, private readonly writer: SqliteWriter) {}

  async list(): Promise<TopicRecord[]> {
    return this.d.s.selectTopics.all().map(topicFromRow);
  }

  async get(name: string): Promise<TopicRecord | null> {
    const row = this.d.s.selectTopicByName.get(name);
    return row === undefined ? null : topicFromRow(row);
  }

  async getById(topicId: string): Promise<TopicRecord | null> {
    const row = this.d.s.selectTopicById.get(topicId);
    return row === undefined ? null : topicFromRow(row);
  }

  /** The database is the only copy: get is already current. */
  async read(name: string): Promise<TopicRecord | null> {
    return this.get(name);
  }

  async create(topic: TopicRecord, leaders: NewPartitionLeaders): Promise<void> {
    assertTopicRecord(topic);
    await this.writer.run('topicCreate', topic, leaders);
  }

  async delete(name: string): Promise<string[]> {
    return this.writer.run('topicDelete', name);
  }

  async createPartitions(name: string, partitionCount: number, leaders: NewPartitionLeaders):
    Promise<void> {
    await this.writer.run('topicCreatePartitions', name, partitionCount, leaders);
  }

  async setConfigs(name: string, configs: Record<string, string>): Promise<void> {
    await this.writer.run('topicSetConfigs', name, configs);
  }
}
