/**
 * What the brokers logged about leadership, with times: the failover's parts come from here
 * (the controller seeing a broker go, a partition reassigned, opened on its new leader).
 */
export interface BrokerEvent {
  node: number;
  atMs: number;
  msg: string;
  topicId?: string;
  topic?: string;
  partition?: number;
  brokers?: number[];
  from?: number;
  to?: number;
  /** 'partition recovered': the WAL read it was part of (src/cluster/recover-partition.ts). */
  walEntries?: number;
  walOpenMs?: number;
  walReadMs?: number;
  commitMs?: number;
  walBytesRead?: number;
  walBytesSkipped?: number;
  recoveredBytes?: number;
}

const KEPT = new Set(['topic created', 'live brokers changed', 'became the controller', 'partition reassigned',
  'partition opened', 'partition recovered', 'partition handed off', 'partition released', 'partition moved away',
  'peer refuses connections; its lease revoked', 'recovery waits out a revoked broker\'s window']);

const numberOr = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

export class Timeline {
  readonly events: BrokerEvent[] = [];
  private readonly partial = new Map<number, string>();

  /** Feeds a chunk of broker `node`'s output (JSON log lines). */
  feed(node: number, chunk: string): void {
    const lines = ((this.partial.get(node) ?? '') + chunk).split('\n');
    this.partial.set(node, lines.pop()!);
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      let o: Record<string, unknown>;
      try { o = JSON.parse(line) as Record<string, unknown>; } catch { continue; }
      const msg = String(o['msg']);
      if (!KEPT.has(msg) && !/partition|lease|register|recover|joined|WAL/i.test(msg)) continue;
      const time = o['time'];
      this.events.push({ node, atMs: typeof time === 'number' ? time : Date.parse(String(time)), msg,
        topicId: o['topicId'] as string | undefined, topic: o['topic'] as string | undefined,
        partition: o['partition'] as number | undefined, brokers: o['brokers'] as number[] | undefined,
        from: o['from'] as number | undefined, to: o['to'] as number | undefined,
        walEntries: numberOr(o['walEntries']), walOpenMs: numberOr(o['walOpenMs']),
        walReadMs: numberOr(o['walReadMs']), commitMs: numberOr(o['commitMs']),
        walBytesRead: numberOr(o['walBytesRead']), walBytesSkipped: numberOr(o['walBytesSkipped']),
        recoveredBytes: numberOr(o['recoveredBytes']) });
    }
  }

  topicId(topic: string): string | undefined {
    return this.events.find((e) => e.msg === 'topic created' && e.topic === topic)?.topicId;
  }

  /** The first event after `fromMs` that matches. */
  first(fromMs: number, match: (e: BrokerEvent) => boolean): BrokerEvent | undefined {
    let best: BrokerEvent | undefined;
    for (const e of this.events) if (e.atMs >= fromMs && match(e) && (best === undefined || e.atMs < best.atMs)) best = e;
    return best;
  }
}
