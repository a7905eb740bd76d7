/**
 * Consumer lag on /metrics: `ledgerstream_consumer_lag{group,topic,partition}`, the records
 * between a group's committed offset and the high watermark, for every partition this broker
 * leads (so in a cluster each lag is exported by exactly one broker: the partition's leader, the
 * only one that knows its high watermark). Sum over brokers in Prometheus for a group's total.
 *
 * Committed offsets come from the metadata coordinator, read at most every lagRefreshMs and for
 * at most lagGroupsMax groups (src/limits.ts), so scrapes cost no more than that however often
 * they come.
 */
import { Gauge } from 'prom-client';
import type { Metadata } from '../metadata/stores.js';
import type { Metrics } from '../metrics.js';
import type { PartitionManager } from '../partition/partition-manager.js';
import { groupLimits } from '../limits.js';


interface Committed { group: string; topic: string; partition: number; offset: number }

export function exportConsumerLag(metrics: Metrics, metadata: Metadata, partitions: PartitionManager): void {
  let committed: Committed[] = [];
  let refreshedAtMs = -Infinity;
  let refreshing: Promise<void> | null = null;

  const refresh = async () => {
    const groups = (await metadata.offsets.listGroups()).slice(0, groupLimits.lagGroupsMax);
    const next: Committed[] = [];
    for (const group of groups) {
      for (const o of await metadata.offsets.fetch(group)) {
        if (partitions.partitionLog(o.topic, o.partition) !== undefined) next.push({ group, ...o });
      }
    }
    committed = next;
    refreshedAtMs = Date.now();
  };

  new Gauge({
    name: 'ledgerstream_consumer_lag',
    help: 'Records from the group\'s committed offset to the high watermark, for partitions led here',
    labelNames: ['group', 'topic', 'partition'],
    registers: [metrics.registry],
    async collect() {
      if (Date.now() - refreshedAtMs >= groupLimits.lagRefreshMs) {
        refreshing ??= refresh().finally(() => { refreshing = null; });
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([refreshing.catch(() => {}),
          new Promise((r) => { timer = setTimeout(r, groupLimits.lagRefreshTimeoutMs); })]);
        clearTimeout(timer);
      }
      this.reset();
      for (const c of committed) {
        const log = partitions.partitionLog(c.topic, c.partition);
        if (log === undefined) continue; // moved away since the refresh
        this.set({ group: c.group, topic: c.topic, partition: String(c.partition) }, Math.max(0, log.highWatermark - c.offset));
      }
    },
  });
}
