// The layering and size rules the project follows (../shared/design/LAYOUT.md), checked by
// `npm test` through `npm run lint`. Lines that broke the size rules before the rules were checked
// are listed in eslint-suppressions.json (ESLint's bulk suppressions): new lines must follow the
// rules, and a file's entry shrinks as it is fixed (`npm run lint -- --prune-suppressions`).
import tseslint from 'typescript-eslint';

/** Size rules: lines of at most 100 columns, functions of at most 70 lines. */
const sizeRules = {
  'max-len': ['error', { code: 100, ignoreUrls: true, ignoreRegExpLiterals: true }],
  'max-lines-per-function': ['error', { max: 70, skipBlankLines: true, skipComments: true }],
};

/** Imports a layer may not make: layers point one way, src → storage → protocol. */
function layer(files, patterns) {
  return { files, rules: { 'no-restricted-imports': ['error', { patterns }] } };
}
const etcd3OnlyInKit = { group: ['etcd3'], message: 'Only the etcd kit (src/etcd/) imports etcd3.' };
const noSrc = { group: ['**/src/**', '../src', '../../src'], message: 'A lower layer does not import src/.' };
const noStorage = { group: ['**/storage/**', '../storage', '../../storage'],
  message: 'protocol/ is pure: it does not import storage/.' };
const noIo = { group: ['node:net', 'node:fs', 'node:fs/*', 'node:child_process', 'node:http', 'node:https'],
  message: 'protocol/ is pure: no I/O outside the code generator.' };

export default [
  { ignores: ['dist/**', 'node_modules/**', 'protocol/generated/**', 'bench/results/**', '.cluster/**',
    '.ci/**', 'build/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { ecmaVersion: 2023, sourceType: 'module' } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: sizeRules,
  },
  layer(['protocol/**/*.ts'], [noSrc, noStorage, noIo, etcd3OnlyInKit]),
  // The code generator reads the message specs from disk; it is a build tool, not the wire format.
  layer(['protocol/codegen/**/*.ts'], [noSrc, noStorage, etcd3OnlyInKit]),
  layer(['storage/**/*.ts'], [noSrc, etcd3OnlyInKit]),
  layer(['src/**/*.ts'], [etcd3OnlyInKit]),
  // The kit itself; and test/helpers/etcd-per-file.ts, which empties a test's etcd between files.
  { files: ['src/etcd/**/*.ts', 'test/helpers/etcd-per-file.ts'], rules: { 'no-restricted-imports': 'off' } },
];
