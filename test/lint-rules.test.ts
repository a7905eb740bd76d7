/**
 * The lint rules (eslint.config.js) catch what they are there for: a lower layer importing a
 * higher one, etcd3 outside the etcd kit, long lines and long functions. Each case is linted as if
 * it were a new file at that path, so the bulk suppressions of existing files do not apply.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function rulesBroken(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

const longFunction =
  `export function f(): number {\n  let n = 0;\n${'  n += 1;\n'.repeat(70)}  return n;\n}\n`;

describe('lint rules', () => {
  it.each([
    ['protocol/new.ts', "import { x } from '../src/limits.js';\nexport const y = x;\n"],
    ['protocol/new.ts', "import { x } from '../storage/limits.js';\nexport const y = x;\n"],
    ['protocol/new.ts', "import net from 'node:net';\nexport const y = net;\n"],
    ['storage/new.ts', "import { x } from '../src/limits.js';\nexport const y = x;\n"],
    ['storage/wal/new.ts', "import { x } from '../../src/limits.js';\nexport const y = x;\n"],
    ['src/cluster/new.ts', "import { Etcd3 } from 'etcd3';\nexport const y = Etcd3;\n"],
  ])('%s: refuses %s', async (file, code) => {
    expect(await rulesBroken(file, code)).toEqual(['no-restricted-imports']);
  });

  it.each([
    ['src/new.ts', "import { x } from '../storage/limits.js';\nexport const y = x;\n"],
    ['storage/new.ts', "import { x } from '../protocol/frame.js';\nexport const y = x;\n"],
    ['src/etcd/new.ts', "import { Etcd3 } from 'etcd3';\nexport const y = Etcd3;\n"],
  ])('%s: allows %s (layers point one way; etcd3 in the kit)', async (file, code) => {
    expect(await rulesBroken(file, code)).toEqual([]);
  });

  it('refuses a line over 100 columns and a function over 70 lines', async () => {
    const line = (terms: number) => `export const y = ${'1 + '.repeat(terms)}1;\n`;
    expect(await rulesBroken('src/new.ts', line(30))).toEqual(['max-len']);
    expect(await rulesBroken('src/new.ts', line(20))).toEqual([]);
    expect(await rulesBroken('test/new.ts', longFunction)).toEqual(['max-lines-per-function']);
  });
});
