/**
 * Following keys in etcd: the one watch-and-reload loop of every etcd user.
 *
 * `EtcdWatch` reads its ranges at one revision R (a snapshot), then watches them from R + 1. A
 * watch that errors (e.g. its start revision was compacted away), ends unasked, or whose events
 * the handler cannot take (it throws) is replaced by a fresh snapshot and watch, with backoff; a
 * failure during a reload makes the reload run again once it is done, so the last snapshot is
 * never older than the last failure. Events of a replaced watch are ignored (a generation count),
 * so a handler sees one snapshot and then only that snapshot's successors.
 *
 * `KeySetWatch` builds on it: the current keys of one range (a prefix or a single key), handed
 * whole to a listener after the first read and after every change (membership, controller key,
 * handoff requests). The metadata stores' topic cache takes snapshots and events directly.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { prefixEnd } from './keys.js';
import { keyOf, rangePrefix, revisionOf } from './txn.js';
import { etcdKitLimits } from '../limits.js';


export interface WatchRange {
  /** A prefix, or with `exact` one key. */
  key: string;
  exact?: boolean;
}

/** One change the watch delivered: the key's new value, or null when it was deleted. */
export interface WatchChange {
  key: string;
  modRevision: number;
  value: Buffer | null;
  kv: IKeyValue;
}

export interface WatchHandler {
  /** The ranges as read at `revision`: first, and after every reload. */
  onSnapshot(kvs: IKeyValue[], revision: number): void;
  /** Changes after the snapshot, in revision order; `revision` is the response's header's. */
  onChanges(changes: WatchChange[], revision: number): void;
}

export type WatchLog = (message: string, error: unknown) => void;

export interface EtcdWatchOptions {
  log: WatchLog;
  /** Logged when a watch fails and a reload starts; default `watch of <first key> failed…`. */
  failedMessage?: string;
  /** Logged when a reload attempt fails and is retried. */
  reloadFailedMessage?: string;
  reloadBackoffMsMax?: number;
}

export function defaultWatchLog(message: string, error: unknown): void {
  process.emitWarning(`${message}: ${String(error)}`);
}

export class EtcdWatch {
  private readonly failedMessage: string;
  private readonly reloadFailedMessage: string;
  private readonly reloadBackoffMsMax: number;
  private closed = false;
  /** Bumped whenever the watchers are replaced: events of older watchers are ignored. */
  private generation = 0;
  private watchers: Watcher[] = [];
  /** The newest revision a snapshot or the watch has shown. */
  private revision = 0;
  private reloads = 0;
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;

  private constructor(private readonly client: Etcd3, private readonly ranges: WatchRange[],
    private readonly handler: WatchHandler, private readonly options: EtcdWatchOptions) {
    assert.ok(ranges.length > 0 && ranges.length <= etcdKitLimits.watchRangesMax, 'watch ranges');
    const name = ranges.map((r) => r.key).join(', ');
    this.failedMessage = options.failedMessage ?? `watch of ${name} failed; reloading`;
    this.reloadFailedMessage = options.reloadFailedMessage ??
      `reloading the watch of ${name} failed; retrying`;
    this.reloadBackoffMsMax = options.reloadBackoffMsMax ??
      etcdKitLimits.watchReloadBackoffMsMaxDefault;
    assert.ok(this.reloadBackoffMsMax >= etcdKitLimits.watchReloadBackoffMsMin, 'backoff');
  }

  /** Resolves once the first snapshot has been handed to the handler and the watch is up. */
  static async open(client: Etcd3, ranges: WatchRange[], handler: WatchHandler,
    options: EtcdWatchOptions): Promise<EtcdWatch> {
    const watch = new EtcdWatch(client, ranges, handler, options);
    try {
      await watch.load();
    } catch (error) {
      await watch.close();
      throw error;
    }
    return watch;
  }

  /** Reloads so far, the newest revision seen, and whether the watch is up (not reloading). */
  status(): { reloads: number; revision: number; watching: boolean } {
    return { reloads: this.reloads, revision: this.revision,
      watching: this.watchers.length > 0 && this.reloading === null };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    await this.cancelWatchers();
  }

  // Test hooks: the failure paths are hard to provoke from outside.

  /** Cancels the live watches as etcd would: they end unasked, which must trigger a reload. */
  async cancelForTesting(): Promise<void> {
    await Promise.all(this.watchers.map((watcher) => watcher.cancel()));
  }

  /** Stops watching without reloading; resumeForTesting restarts from where it stopped. */
  async pauseForTesting(): Promise<void> {
    this.generation++;
    await this.cancelWatchers();
  }

  /** Resumes from the revision after the last one seen, as a reconnect does; if etcd compacted
   *  that revision meanwhile, the watch is refused and a reload follows. */
  async resumeForTesting(): Promise<void> {
    const generation = ++this.generation;
    try {
      await this.startWatchers(this.revision + 1, generation);
    } catch (error) {
      this.scheduleReload(error);
    }
  }

  // The loop

  private live(generation: number): boolean {
    return generation === this.generation && !this.closed;
  }

  /** Reads every range at one revision, hands the snapshot over, watches from the next one. */
  private async load(): Promise<void> {
    const generation = ++this.generation;
    await this.cancelWatchers();
    const [first] = this.ranges;
    assert.ok(first !== undefined);
    const head = await this.client.kv.range({ key: Buffer.from(first.key), count_only: true,
      ...(first.exact === true ? {} : { range_end: prefixEnd(first.key) }) });
    const revision = revisionOf(head.header);
    const kvs: IKeyValue[] = [];
    for (const range of this.ranges) kvs.push(...await this.readRange(range, revision));
    if (!this.live(generation)) return;
    this.handler.onSnapshot(kvs, revision);
    this.revision = Math.max(this.revision, revision);
    await this.startWatchers(revision + 1, generation);
  }

  private async readRange(range: WatchRange, revision: number): Promise<IKeyValue[]> {
    if (range.exact !== true) return rangePrefix(this.client, range.key, { revision });
    return (await this.client.kv.range({ key: Buffer.from(range.key), revision })).kvs;
  }

  private async startWatchers(fromRevision: number, generation: number): Promise<void> {
    try {
      for (const range of this.ranges) {
        const builder = this.client.watch();
        const watcher = await (range.exact === true ? builder.key(range.key)
          : builder.prefix(range.key)).startRevision(String(fromRevision)).create();
        this.watchers.push(watcher);
        this.follow(watcher, generation);
      }
    } catch (error) {
      await this.cancelWatchers();
      throw error;
    }
    if (!this.live(generation)) await this.cancelWatchers();
  }

  private follow(watcher: Watcher, generation: number): void {
    watcher.on('data', (response) => {
      if (!this.live(generation)) return;
      try {
        const changes = response.events.map((event): WatchChange => ({ key: keyOf(event.kv),
          modRevision: revisionOf({ revision: event.kv.mod_revision }),
          value: event.type === 'Delete' ? null : event.kv.value, kv: event.kv }));
        const revision = revisionOf(response.header);
        if (changes.length > 0) this.handler.onChanges(changes, revision);
        this.revision = Math.max(this.revision, revision);
      } catch (error) {
        this.scheduleReload(error);
      }
    });
    // An ended watcher must leave `watchers`: cancelling it again would wait for an answer etcd
    // never sends (it no longer knows the watch id).
    const forget = (): void => {
      this.watchers = this.watchers.filter((w) => w !== watcher);
    };
    watcher.on('error', (error) => {
      forget();
      if (this.live(generation)) this.scheduleReload(error);
    });
    watcher.on('end', () => {
      forget();
      if (this.live(generation)) this.scheduleReload(new Error('watch ended unasked'));
    });
  }

  private scheduleReload(reason: unknown): void {
    if (this.closed) return;
    this.options.log(this.failedMessage, reason);
    if (this.reloading !== null) {
      this.reloadAgain = true;
      return;
    }
    this.generation++; // from now on, the failed watchers' events are ignored
    this.reloads++;
    this.reloading = this.reloadUntilDone().finally(() => {
      this.reloading = null;
    });
  }

  private async reloadUntilDone(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        this.reloadAgain = false;
        await this.load();
        if (!this.reloadAgain) return;
      } catch (error) {
        if (this.closed) return;
        this.options.log(this.reloadFailedMessage, error);
        await sleep(Math.min(this.reloadBackoffMsMax,
          etcdKitLimits.watchReloadBackoffMsMin * 2 ** Math.min(attempt, 16)));
      }
    }
  }

  private async cancelWatchers(): Promise<void> {
    const watchers = this.watchers;
    this.watchers = [];
    await Promise.allSettled(watchers.map((watcher) => Promise.race([
      watcher.cancel().catch(() => undefined), sleep(etcdKitLimits.watchCancelMsMax)])));
  }
}

/**
 * The keys of one range as of the latest revision etcd has shown, handed whole to `onChange`
 * after the first read and after every change. `onChange` runs synchronously: keep it short. A
 * listener that throws is reported, not retried (the next change calls it again).
 */
export class KeySetWatch {
  private current = new Map<string, IKeyValue>();
  private watch: EtcdWatch | null = null;

  private constructor(private readonly range: WatchRange,
    private readonly onChange: (entries: ReadonlyMap<string, IKeyValue>) => void,
    private readonly log: WatchLog) {}

  /** Resolves after the first read has been delivered to `onChange`. */
  static async open(client: Etcd3, range: WatchRange,
    onChange: (entries: ReadonlyMap<string, IKeyValue>) => void,
    log: WatchLog = defaultWatchLog,
    reloadBackoffMsMax: number = etcdKitLimits.keySetReloadBackoffMsMaxDefault):
    Promise<KeySetWatch> {
    const keySet = new KeySetWatch(range, onChange, log);
    keySet.watch = await EtcdWatch.open(client, [range], {
      onSnapshot: (kvs) => {
        keySet.current = new Map(kvs.map((kv) => [keyOf(kv), kv]));
        keySet.deliver();
      },
      onChanges: (changes) => {
        for (const change of changes) {
          if (change.value === null) keySet.current.delete(change.key);
          else keySet.current.set(change.key, change.kv);
        }
        keySet.deliver();
      },
    }, { log, reloadBackoffMsMax });
    return keySet;
  }

  entries(): ReadonlyMap<string, IKeyValue> {
    return this.current;
  }

  async close(): Promise<void> {
    await this.watch?.close();
  }

  private deliver(): void {
    try {
      this.onChange(this.current);
    } catch (error) {
      this.log(`watch listener of ${this.range.key} threw`, error);
    }
  }
}
