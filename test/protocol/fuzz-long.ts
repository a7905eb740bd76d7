/**
 * Long fuzzing run of the protocol decoders: the cases of fuzz-decode.test.ts, for minutes or
 * hours instead of seconds, with a fresh corpus (new fast-check messages) every generation.
 *
 *   npm run fuzz                 # 60 seconds
 *   npm run fuzz -- 600s         # ten minutes
 *   npm run fuzz -- 20000000     # twenty million mutated cases
 *   FUZZ_SEED=123 npm run fuzz   # replay a run (the seed is printed at the start)
 *
 * Exits 1 if any decoder threw something other than ProtocolDecodeError or was slow, after
 * printing the failures (target, mutation, input as hex, stack).
 */
import { performance } from 'node:perf_hooks';
import { API_CODECS } from '../../protocol/generated/registry.js';
import {
  type FuzzFailure, allTargets, buildCorpus, formatFailure, runFuzz, runLengthLies, runNoise,
} from './fuzz-cases.js';

/** Cases per corpus: large enough that corpus building (~0.5 s) is a small share of the time. */
const CASES_PER_GENERATION = 1_000_000;
const MESSAGES_PER_TARGET = 8;
const MAX_FAILURES_PRINTED = 10;

interface Budget {
  cases: number;
  ms: number;
}

function parseBudget(arg: string | undefined): Budget {
  if (arg === undefined) return { cases: Infinity, ms: 60_000 };
  const seconds = /^(\d+(?:\.\d+)?)s$/.exec(arg);
  if (seconds) return { cases: Infinity, ms: Number(seconds[1]) * 1000 };
  if (/^\d+$/.test(arg)) return { cases: Number(arg), ms: Infinity };
  throw new Error(`usage: fuzz-long.ts [CASES | SECONDSs], got "${arg}"`);
}

async function main(): Promise<number> {
  const budget = parseBudget(process.argv[2]);
  const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`fuzz seed ${seed}; budget ${budget.cases === Infinity ? `${budget.ms / 1000} s` : `${budget.cases} cases`}`);

  const started = performance.now();
  const failures: FuzzFailure[] = [];
  const perApi = new Map<string, number>();
  let cases = 0;
  let decoded = 0;
  let lengthLies = 0;
  let noise = 0;

  const noiseRun = runNoise(allTargets(), seed, 100);
  noise += noiseRun.cases;
  failures.push(...noiseRun.failures);

  for (let generation = 0; cases < budget.cases && failures.length === 0; generation++) {
    const elapsed = performance.now() - started;
    if (elapsed >= budget.ms) break;
    const corpus = await buildCorpus({ seed: seed + generation * 100_003, messagesPerTarget: MESSAGES_PER_TARGET });
    // Each new corpus brings new length prefixes to lie about: sweep them all once.
    const lies = runLengthLies(corpus);
    lengthLies += lies.cases;
    failures.push(...lies.failures);
    const stats = runFuzz({
      corpus,
      seed: seed + generation,
      maxCases: Math.min(CASES_PER_GENERATION, budget.cases - cases),
      maxMs: budget.ms - (performance.now() - started),
      maxFailures: MAX_FAILURES_PRINTED,
    });
    cases += stats.cases;
    decoded += stats.decoded;
    failures.push(...stats.failures);
    for (const [api, n] of stats.perApi) perApi.set(api, (perApi.get(api) ?? 0) + n);
    const rate = Math.round(stats.cases / (stats.elapsedMs / 1000));
    console.log(`generation ${generation}: ${stats.cases} cases (${rate}/s), total ${cases}`);
  }

  const seconds = (performance.now() - started) / 1000;
  console.log(`\n${cases} mutated cases (${decoded} decoded, ${cases - decoded - failures.length} rejected), `
    + `${lengthLies} length lies, ${noise} noise cases in ${seconds.toFixed(1)} s`);
  console.log('cases per API (requests and responses):');
  for (const codec of API_CODECS.values()) {
    console.log(`  ${String(codec.apiKey).padStart(3)} ${codec.name.padEnd(30)} ${perApi.get(codec.name) ?? 0}`);
  }
  if (failures.length === 0) {
    console.log('no failures');
    return 0;
  }
  console.log(`\n${failures.length} FAILURES (seed ${seed}); the first ${Math.min(failures.length, MAX_FAILURES_PRINTED)}:`);
  for (const f of failures.slice(0, MAX_FAILURES_PRINTED)) console.log(`\n${formatFailure(f)}`);
  return 1;
}

process.exitCode = await main();
