/** TopicCatalog on SQLite: the `topics` table, and the partition rows created with a topic. */
import { TopicExistsError, type NewPartitionLeaders, type TopicRecord } from '../records.js';
import { assertTopicRecord } from '../rules.js';
import type { TopicCatalog } from '../stores.js';
import type { SqliteDatabase } from './database.js';
import { topicFromRow } from './statements.js';

export class SqliteTopicCatalog implements TopicCatalog {
  constructor(private readonly d: SqliteDatabase) {}

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
    const { s } = this.d;
    this.d.transaction(() => {
      if (s.selectTopicByName.get(topic.name) !== undefined) {
        throw new TopicExistsError(`topic ${topic.name} exists`);
      }
      if (s.selectTopicById.get(topic.topicId) !== undefined) {
        throw new TopicExistsError(`topic id ${topic.topicId} is taken`);
      }
      s.insertTopic.run(topic.topicId, topic.name, topic.partitionCount,
        JSON.stringify(topic.configs), topic.createdAtMs);
      this.d.insertPartitions(topic.topicId, 0, topic.partitionCount, leaders);
    });
  }

  async delete(name: string): Promise<string[]> {
    const { s } = this.d;
    return this.d.transaction(() => {
      const topic = this.d.requireTopicByName(name);
      const deadObjectKeys = this.d.releaseObjects(s.deleteSegmentsOfTopic.all(topic.topicId));
      s.deleteProducerStatesOfTopic.run(topic.topicId);
      s.deletePartitions.run(topic.topicId);
      s.deleteOffsetsOfTopic.run(name);
      s.deleteTopic.run(topic.topicId);
      return deadObjectKeys;
    });
  }

  async createPartitions(name: string, partitionCount: number, leaders: NewPartitionLeaders):
    Promise<void> {
    this.d.transaction(() => {
      const topic = this.d.requireTopicByName(name);
      if (!(Number.isSafeInteger(partitionCount) && partitionCount > topic.partitionCount)) {
        throw new RangeError(`topic ${name} has ${topic.partitionCount} partitions; ` +
          `${partitionCount} does not raise that`);
      }
      this.d.insertPartitions(topic.topicId, topic.partitionCount, partitionCount, leaders);
      this.d.s.updatePartitionCount.run(partitionCount, topic.topicId);
    });
  }

  async setConfigs(name: string, configs: Record<string, string>): Promise<void> {
    this.d.transaction(() => {
      const topic = this.d.requireTopicByName(name);
      this.d.s.updateConfigs.run(JSON.stringify(configs), topic.topicId);
    });
  }
}
