/**
 * OpenWaiters (src/partition/open-waiters.ts): requests for a partition this broker leads but has
 * not opened wake at its next change, in the order they came, or at their bound.
 */
import { describe, expect, it } from 'vitest';
import { OpenWaiters } from '../../src/partition/open-waiters.js';
import { partitionLimits } from '../../src/limits.js';

describe('OpenWaiters', () => {
  it('wakes every waiter of the partition that changed, in arrival order, no other', async () => {
    const waiters = new OpenWaiters();
    const woken: string[] = [];
    const a = waiters.next('t', 0, 10_000).then(() => woken.push('a'));
    const b = waiters.next('t', 0, 10_000).then(() => woken.push('b'));
    const other = waiters.next('t', 1, 10_000).then(() => woken.push('other'));
    expect(waiters.waiting).toBe(3);
    waiters.changed('t', 0);
    await Promise.all([a, b]);
    expect(woken).toEqual(['a', 'b']);
    expect(waiters.waiting).toBe(1);
    waiters.topicChanged('t');
    await other;
    expect(woken).toEqual(['a', 'b', 'other']);
    expect(waiters.waiting).toBe(0);
  });

  it('gives up at its bound, and at once when nothing may wait', async () => {
    const waiters = new OpenWaiters();
    const startMs = performance.now();
    await waiters.next('t', 0, 50);
    expect(performance.now() - startMs).toBeGreaterThanOrEqual(45);
    expect(waiters.waiting).toBe(0);
    await waiters.next('t', 0, 0); // resolves at once: no timer would keep it
    expect(waiters.waiting).toBe(0);
  });

  it('lets at most openWaitersMax requests wait', async () => {
    const waiters = new OpenWaiters();
    const held = Array.from({ length: partitionLimits.openWaitersMax },
      () => waiters.next('t', 0, 60_000));
    expect(waiters.waiting).toBe(partitionLimits.openWaitersMax);
    let extraDone = false;
    await waiters.next('t', 1, 60_000).then(() => { extraDone = true; });
    expect(extraDone).toBe(true);
    waiters.changed('t', 0);
    await Promise.all(held);
    expect(waiters.waiting).toBe(0);
  });
});
