/**
 * The broker's client quotas: the quota table as the metadata store holds it (followed through
 * its watch, so a quota altered through any broker applies here within the watch's delay), and
 * one ClientQuotaManager per quota type Kafka enforces on clients.
 */
import type { Logger } from 'pino';
import type { ClientQuotaRecord } from '../metadata/client-quotas.js';
import type { ClientQuotaStore } from '../metadata/stores.js';
import { ClientQuotaManager } from './client-quota-manager.js';
import { QuotaTable } from './quota-table.js';
import type { RateWindow } from './windowed-rate.js';

export type QuotaKeyType = 'int' | 'long' | 'double';

/** The quota keys of users and client ids this broker enforces, with Kafka's value types. */
export const quotaKeyTypes: ReadonlyMap<string, QuotaKeyType> = new Map([
  ['producer_byte_rate', 'long'],
  ['consumer_byte_rate', 'long'],
  ['request_percentage', 'double'],
]);

/** The quota key of ip entities (KIP-612), with its Kafka value type. */
export const ipQuotaKeyTypes: ReadonlyMap<string, QuotaKeyType> = new Map([
  ['connection_creation_rate', 'int'],
]);

/** Kafka's request quota unit: 100 is one thread's whole time, so a nanosecond is 1e-7 % s. */
export function requestPercentage(requestTimeNs: number): number {
  return requestTimeNs * 100 / 1e9;
}

export class ClientQuotas {
  private table = new QuotaTable();
  /** Produce request bytes per second (producer_byte_rate). */
  readonly produce: ClientQuotaManager;
  /** Fetch response bytes per second (consumer_byte_rate). */
  readonly fetch: ClientQuotaManager;
  /** Event-loop time per request as a percentage of one thread (request_percentage). */
  readonly request: ClientQuotaManager;

  constructor(window: RateWindow) {
    const table = (): QuotaTable => this.table;
    this.produce = new ClientQuotaManager('producer_byte_rate', window, table);
    this.fetch = new ClientQuotaManager('consumer_byte_rate', window, table);
    this.request = new ClientQuotaManager('request_percentage', window, table);
  }

  /** Follows the store: resolves once the first table is in force. */
  static async follow(store: ClientQuotaStore, window: RateWindow, log: Logger):
    Promise<{ quotas: ClientQuotas; stop: () => Promise<void> }> {
    const quotas = new ClientQuotas(window);
    const stop = await store.watch((records) => {
      quotas.replace(records);
      log.info({ entities: records.length }, 'client quotas loaded');
    });
    return { quotas, stop };
  }

  /** The connection_creation_rate that applies to a client address, or null (KIP-612). */
  connectionRateOf(address: string): number | null {
    return this.table.ipConnectionRate(address);
  }

  replace(records: readonly ClientQuotaRecord[]): void {
    this.table = new QuotaTable(records);
  }
}
