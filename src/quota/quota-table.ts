/**
 * Which quota applies to a request, by Kafka's precedence (KIP-55; ClientQuotaManager's
 * DefaultQuotaCallback), for one quota key at a time:
 *
 *   1. user=<user>, client-id=<client-id>      5. user=<default>, client-id=<default>
 *   2. user=<user>, client-id=<default>        6. user=<default>
 *   3. user=<user>                             7. client-id=<client-id>
 *   4. user=<default>, client-id=<client-id>   8. client-id=<default>
 *
 * The level that holds the key also decides who shares the measured rate (Kafka's metric tags):
 * at a user and client-id level every (user, client id) pair has its own rate; at a user level
 * all clients of the user share one; at a client-id level all users of that client id share one.
 */
import {
  quotaEntityKey, type ClientQuotaRecord, type QuotaEntity,
} from '../metadata/client-quotas.js';

const IP_RATE_KEY = 'connection_creation_rate';

/** Who shares one measured rate: '' leaves that part out (Kafka's metric tags). */
export interface QuotaTags {
  readonly user: string;
  readonly clientId: string;
}

export class QuotaTable {
  private readonly byEntity: Map<string, Readonly<Record<string, number>>>;
  /** Keys some entity sets: asked on every request, so not a scan of the table. */
  private readonly keysSet: ReadonlySet<string>;

  constructor(records: readonly ClientQuotaRecord[] = []) {
    this.byEntity = new Map(records.map((r) => [quotaEntityKey(r.entity), r.values]));
    this.keysSet = new Set(records.flatMap((r) => Object.keys(r.values)));
  }

  get entityCount(): number {
    return this.byEntity.size;
  }

  /** Whether any entity sets `key` (Kafka records nothing for a quota type nobody set). */
  hasAny(key: string): boolean {
    return this.keysSet.has(key);
  }

  /** Kafka's quotaMetricTags: the most specific level that sets `key` decides. */
  tags(key: string, user: string, clientId: string): QuotaTags {
    const has = (e: QuotaEntity): boolean => this.value(key, e) !== undefined;
    if (has({ user, clientId }) || has({ user, clientId: null })) return { user, clientId };
    if (has({ user })) return { user, clientId: '' };
    if (has({ user: null, clientId }) || has({ user: null, clientId: null })) {
      return { user, clientId };
    }
    if (has({ user: null })) return { user, clientId: '' };
    return { user: '', clientId };
  }

  /** Kafka's quotaLimit: the bound for the rate these tags share, or null for none. */
  limit(key: string, tags: QuotaTags): number | null {
    const { user, clientId } = tags;
    const candidates: QuotaEntity[] =
      user !== '' && clientId !== '' ? [{ user, clientId }, { user, clientId: null },
        { user: null, clientId }, { user: null, clientId: null }]
        : user !== '' ? [{ user }, { user: null }]
          : clientId !== '' ? [{ clientId }, { clientId: null }] : [];
    for (const entity of candidates) {
      const value = this.value(key, entity);
      if (value !== undefined) return value;
    }
    return null;
  }

  /** KIP-612: the connection_creation_rate of this address's ip entity, else of the default
   *  ip entity, else null. */
  ipConnectionRate(address: string): number | null {
    return this.value(IP_RATE_KEY, { ip: address }) ?? this.value(IP_RATE_KEY, { ip: null })
      ?? null;
  }

  private value(key: string, entity: QuotaEntity): number | undefined {
    return this.byEntity.get(quotaEntityKey(entity))?.[key];
  }
}
