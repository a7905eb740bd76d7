/**
 * Fault injection at the etcd client boundary, for races that a real pause of etcd produces only
 * now and then: a client that behaves exactly as the real one it wraps (every request reaches the
 * real etcd), except that the answers a test chooses are late or lost on the way back, as from an
 * etcd that was paused (SIGSTOP) or cut off meanwhile.
 *
 *  - `leaseGrantDelayMs`: a lease grant is answered this much later (a grant sent while etcd was
 *    paused and answered after it resumed: the lease arrives already older than its window).
 *  - `dropKeepAliveAnswers`: keep-alives reach etcd (the lease lives) but no answer comes back, so
 *    the broker cannot confirm its lease (a lease that is alive in etcd yet unconfirmed).
 *  - `dropWatchEventsOf(key)`: watches of that key deliver nothing more (a watch that missed a
 *    change: a watch stream down, or waiting out its reconnect backoff).
 * The faults are read at each answer, so a test switches them on and off while the client runs.
 */
import type { Etcd3, Watcher } from 'etcd3';

export interface EtcdClientFaults {
  leaseGrantDelayMs: number;
  dropKeepAliveAnswers: boolean;
  dropWatchEventsOf: (key: string) => boolean;
}

export function noEtcdFaults(): EtcdClientFaults {
  return { leaseGrantDelayMs: 0, dropKeepAliveAnswers: false, dropWatchEventsOf: () => false };
}

type Listener = (...args: unknown[]) => void;

/** `target` with `overrides` in place of some of its members; the rest bound to `target`. */
function overriding<T extends object>(target: T, overrides: Record<string | symbol, unknown>): T {
  return new Proxy(target, {
    get(object, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property];
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? (value as Listener).bind(object) : value;
    },
  });
}

/** An emitter whose `event` listeners run only while `deliver` says so. */
function filteringOn<T extends { on(event: string, listener: Listener): unknown }>(emitter: T,
  event: string, deliver: (...args: unknown[]) => boolean): T {
  const proxy: T = overriding(emitter, {
    on: (name: string, listener: Listener) => {
      emitter.on(name, name !== event ? listener
        : (...args: unknown[]) => { if (deliver(...args)) listener(...args); });
      return proxy;
    },
  });
  return proxy;
}

function watchBuilderWithFaults(builder: ReturnType<Etcd3['watch']>, faults: EtcdClientFaults):
  ReturnType<Etcd3['watch']> {
  let watched = '';
  const chain = (method: 'key' | 'prefix' | 'startRevision') => (argument: string | Buffer) => {
    if (method !== 'startRevision') watched = argument.toString();
    builder[method](argument as string);
    return proxy;
  };
  const proxy = overriding(builder, {
    key: chain('key'), prefix: chain('prefix'), startRevision: chain('startRevision'),
    create: async (): Promise<Watcher> => filteringOn(await builder.create(), 'data',
      () => !faults.dropWatchEventsOf(watched)),
  });
  return proxy;
}

export function etcdClientWithFaults(client: Etcd3, faults: EtcdClientFaults): Etcd3 {
  const lease = client.leaseClient;
  const leaseClient = overriding(lease, {
    leaseGrant: async (...args: Parameters<typeof lease.leaseGrant>) => {
      const grant = await lease.leaseGrant(...args);
      await new Promise((resolve) => setTimeout(resolve, faults.leaseGrantDelayMs));
      return grant;
    },
    leaseKeepAlive: async (...args: Parameters<typeof lease.leaseKeepAlive>) =>
      filteringOn(await lease.leaseKeepAlive(...args), 'data', () => !faults.dropKeepAliveAnswers),
  });
  return overriding(client, {
    leaseClient,
    watch: () => watchBuilderWithFaults(client.watch(), faults),
  });
}
