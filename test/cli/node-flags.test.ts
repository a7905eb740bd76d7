/**
 * Every way of starting a broker passes the Node flags of src/cli/node-flags.ts: V8 reads them only
 * at process start, so a launcher that forgets them runs a broker with a different heap than the
 * one measured (issue 13).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BROKER_NODE_FLAGS } from '../../src/cli/node-flags.js';

const REPO = path.resolve(import.meta.dirname, '../..');

/** Each launcher and the line of it that starts the broker's Node process. */
const LAUNCHERS: { file: string; line: RegExp }[] = [
  { file: 'package.json', line: /"start":.*dist\/src\/cli\.js start/ },
  { file: 'bin/ledgerstream.js', line: /^#!.*node/ },
  { file: 'Dockerfile', line: /^ENTRYPOINT .*dist\/src\/cli\.js/ },
  { file: 'docker/ledgerstream.Dockerfile', line: /^ENTRYPOINT .*dist\/src\/cli\.js/ },
  { file: 'scripts/cluster-local.sh', line: /node .*dist\/src\/cli\.js" start/ },
  { file: 'test/helpers/broker-process.ts', line: /const args = \[.*CLI, 'start'/ },
];

describe('broker Node flags', () => {
  it('are few and well formed', () => {
    expect(BROKER_NODE_FLAGS.length).toBeGreaterThan(0);
    for (const flag of BROKER_NODE_FLAGS) expect(flag).toMatch(/^--[a-z-]+=\w+$/);
  });

  for (const { file, line } of LAUNCHERS) {
    it(`${file} passes them`, () => {
      const text = readFileSync(path.join(REPO, file), 'utf8');
      const lines = text.split('\n').filter((l) => line.test(l));
      expect(lines, `the launch line of ${file}`).toHaveLength(1);
      // The test helper spreads the constant itself; the others spell each flag out.
      if (file.endsWith('.ts')) expect(lines[0]).toContain('...BROKER_NODE_FLAGS');
      else for (const flag of BROKER_NODE_FLAGS) expect(lines[0]).toContain(flag);
    });
  }
});
