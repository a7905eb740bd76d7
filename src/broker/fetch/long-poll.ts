/**
 * Waits until any of `logs` takes an append or `timeoutMs` passes — the long poll behind Fetch's
 * maxWaitMs/minBytes. Resolves true when woken by an append.
 */
import type { PartitionLog } from '../../partition/partition-log.js';

export function waitForAppend(logs: readonly PartitionLog[], timeoutMs: number): Promise<boolean> {
  if (timeoutMs <= 0 || logs.length === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const cancels: (() => void)[] = [];
    const finish = (woken: boolean) => {
      clearTimeout(timer);
      for (const cancel of cancels) cancel();
      resolve(woken);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    for (const log of logs) cancels.push(log.onAppend(() => finish(true)));
  });
}
