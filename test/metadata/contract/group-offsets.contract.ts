/**
 * The GroupOffsets contract: committed offsets per group, deleted by partition or group.
 */
import { expect, it } from 'vitest';
import { offsetOf, type Current } from './fixtures.js';

export function groupOffsetsContract(current: Current): void {
  it('upserts committed offsets and fetches them per group', async () => {
    const { c } = current();
    await c.offsets.commit('g1', [offsetOf('a', 0, 5), offsetOf('a', 1, 7)]);
    await c.offsets.commit('g2', [offsetOf('a', 0, 1)]);
    const updated = { ...offsetOf('a', 0, 9), metadata: null, leaderEpoch: 3 };
    await c.offsets.commit('g1', [updated]);
    expect(await c.offsets.fetch('g1')).toEqual([updated, offsetOf('a', 1, 7)]);
    expect(await c.offsets.fetch('g2')).toEqual([offsetOf('a', 0, 1)]);
    expect(await c.offsets.fetch('nobody')).toEqual([]);
  });

  it('deletes chosen offsets and whole groups, and lists groups with offsets', async () => {
    const { c } = current();
    await c.offsets.commit('g1', [offsetOf('a', 0, 5), offsetOf('a', 1, 7), offsetOf('b', 0, 1)]);
    await c.offsets.commit('g2', [offsetOf('a', 0, 1)]);
    await c.offsets.commit('g3', [offsetOf('a', 0, 2)]);
    expect(await c.offsets.listGroups()).toEqual(['g1', 'g2', 'g3']);
    await c.offsets.delete('g1', [{ topic: 'a', partition: 1 }, { topic: 'b', partition: 0 },
      { topic: 'never', partition: 0 }]);
    expect(await c.offsets.fetch('g1')).toEqual([offsetOf('a', 0, 5)]);
    await c.offsets.deleteGroup('g2');
    expect(await c.offsets.fetch('g2')).toEqual([]);
    await c.offsets.delete('g3', [{ topic: 'a', partition: 0 }]);
    expect(await c.offsets.listGroups()).toEqual(['g1']);
  });
}
