/**
 * The etcd client of every etcd user (metadata stores, membership, controller, cluster view):
 * the one place that makes an etcd3 client, and the one module besides the rest of src/etcd/
 * that imports `etcd3` (the re-exports below are the types and errors the callers need).
 *
 * Deadlines: every unary call carries one (`callTimeoutMs` from the moment it is made), so a lost
 * etcd fails a call instead of hanging it; streams (watches, lease keep-alives) must not have
 * one, or they would end while healthy. A caller may still pass its own shorter deadline.
 */
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';

export {
  Etcd3 as EtcdClient,
  EtcdLeaseInvalidError,
  type ICompare as EtcdCompare,
  type IDuplexStream as EtcdDuplexStream,
  type IKeyValue as EtcdKeyValue,
  type ILeaseKeepAliveRequest as EtcdKeepAliveRequest,
  type ILeaseKeepAliveResponse as EtcdKeepAliveResponse,
  type IRangeResponse as EtcdRangeResponse,
  type IRequestOp as EtcdRequestOp,
  type ITxnResponse as EtcdTxnResponse,
  type Watcher as EtcdWatcher,
} from 'etcd3';
import { etcdKitLimits } from '../limits.js';


export interface EtcdClientOptions {
  /** etcd client URLs, e.g. `http://127.0.0.1:2379`. */
  hosts: string | string[];
  /** Deadline of each unary call, from when it is made. */
  callTimeoutMs: number;
}

/** An etcd client whose unary calls carry a deadline (a lost etcd fails them; streams live on). */
export function openEtcdClient(options: EtcdClientOptions): Etcd3 {
  const { hosts, callTimeoutMs } = options;
  assert.ok(Number.isSafeInteger(callTimeoutMs) && callTimeoutMs > 0 &&
    callTimeoutMs <= etcdKitLimits.callTimeoutMsMax, `callTimeoutMs ${callTimeoutMs}`);
  assert.ok(typeof hosts === 'string' ? hosts.length > 0 : hosts.length > 0, 'etcd hosts');
  return new Etcd3({ hosts, defaultCallOptions: (context) => context.isStream ? {} :
    { deadline: Date.now() + callTimeoutMs } });
}
