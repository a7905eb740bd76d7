/**
 * The ProducerIds contract: ids unique forever, and per-partition producer states.
 */
import { expect, it } from 'vitest';
import { createTopic, type Current, type Reopen } from './fixtures.js';

export function producerIdsContract(current: Current, reopen: Reopen): void {
  it('allocates strictly increasing, unique producer ids', async () => {
    const { c } = current();
    const sequential: number[] = [];
    for (let i = 0; i < 20; i++) sequential.push(await c.producers.allocate());
    expect(sequential.every((id, i) => i === 0 || id > sequential[i - 1]!)).toBe(true);
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => c.producers.allocate()));
    expect(new Set([...sequential, ...concurrent]).size).toBe(40);
    expect(Math.min(...concurrent)).toBeGreaterThan(Math.max(...sequential));
  });

  it('never reallocates a producer id after a reopen', async (ctx) => {
    const { c } = current();
    const ids = [await c.producers.allocate(), await c.producers.allocate()];
    expect(await (await reopen(ctx)).producers.allocate()).toBeGreaterThan(Math.max(...ids));
  });

  it('answers no producer states for a partition that has none', async () => {
    const { c } = current();
    const t = await createTopic(c, 'none', 1);
    expect(await c.producers.loadStates(t, 0)).toEqual([]);
  });
}
