/**
 * CPU profiles of a broker process for benchmarks: a preload that samples like `node --cpu-prof`
 * (Node 20 refuses --cpu-prof in NODE_OPTIONS, and brokers are spawned by the test helper, so the
 * profiler is started from a --require'd file instead) and a summary of a .cpuprofile as
 * Markdown: top functions and top areas (our folders, npm packages, node internals) by self time.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) return file.slice(nm + '/node_modules/'.length);
  return file.startsWith(process.cwd()) ? path.relative(process.cwd(), file) : file;
}

function area(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native/builtin)';
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/').replace(/^node:internal\//, 'node:');
  const short = shortUrl(url);
  if (url.includes('/node_modules/')) return `npm:${short.split('/')[short.startsWith('@') ? 1 : 0]}`;
  return short.split('/').slice(0, 3).join('/');
}

/** A preload that samples the process's CPU like --cpu-prof (1 ms) and writes CPU.<pid>.cpuprofile at exit. */
export function cpuProfPreload(dir: string): string {
  return `'use strict';
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 1000 });
session.post('Profiler.start');
process.once('exit', () => {
  // An in-thread session answers synchronously, so this completes inside the exit handler.
  session.post('Profiler.stop', (err, res) => {
    if (!err) writeFileSync(${JSON.stringify(dir)} + '/CPU.' + process.pid + '.cpuprofile', JSON.stringify(res.profile));
  });
});
`;
}

/**
 * A preload that profiles on demand: the first SIGUSR2 starts sampling (1 ms), the next stops
 * and writes CPU.<pid>.<n>.cpuprofile, so a benchmark can profile exactly one run of a
 * long-lived broker (see PhaseProfiler). SIGUSR2 is otherwise unused (Node's inspector takes
 * SIGUSR1); with this preload it no longer terminates the process.
 */
export function cpuProfOnSignalPreload(dir: string): string {
  return `'use strict';
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 1000 });
let running = false;
let n = 0;
process.on('SIGUSR2', () => {
  if (!running) {
    running = true;
    session.post('Profiler.start');
    return;
  }
  running = false;
  const file = ${JSON.stringify(dir)} + '/CPU.' + process.pid + '.' + (n++) + '.cpuprofile';
  session.post('Profiler.stop', (err, res) => {
    if (!err) writeFileSync(file + '.tmp', JSON.stringify(res.profile));
    if (!err) require('node:fs').renameSync(file + '.tmp', file);
  });
});
`;
}

const PROFILE_WRITE_MS_MAX = 30_000;
const PROFILER_START_WAIT_MS = 500;

/** Drives cpuProfOnSignalPreload: start(pid), run something, then stop(pid) returns the profile's file. */
export class PhaseProfiler {
  private readonly seen = new Set<string>();

  constructor(private readonly dir: string) {}

  /**
   * Starts the profiler and waits for it to be running: starting costs the broker ~0.1 s of CPU,
   * which must land before the caller starts metering the broker's CPU, not inside it.
   */
  async start(pid: number): Promise<void> {
    process.kill(pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, PROFILER_START_WAIT_MS));
  }

  async stop(pid: number): Promise<string> {
    process.kill(pid, 'SIGUSR2');
    const deadline = Date.now() + PROFILE_WRITE_MS_MAX;
    for (;;) {
      const fresh = (await readdir(this.dir)).find((f) => f.startsWith(`CPU.${pid}.`) && f.endsWith('.cpuprofile') && !this.seen.has(f));
      if (fresh !== undefined) {
        this.seen.add(fresh);
        return path.join(this.dir, fresh);
      }
      if (Date.now() > deadline) throw new Error(`no CPU profile from process ${pid} within ${PROFILE_WRITE_MS_MAX} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function summarizeProfile(file: string, top = 15): Promise<string> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // The profiler's own frames (the preload starting and stopping it) are not the broker's work.
  const overhead = new Set<number>();
  const mark = (id: number): void => {
    overhead.add(id);
    for (const c of byId.get(id)?.children ?? []) mark(c);
  };
  for (const n of profile.nodes) if (n.callFrame.url.endsWith('preload.cjs')) mark(n.id);
  const selfUs = new Map<number, number>();
  let overheadUs = 0;
  profile.samples.forEach((id, i) => {
    if (overhead.has(id)) overheadUs += profile.timeDeltas[i] ?? 0;
    else selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    total += us;
    const name = `${functionName || '(anonymous)'}${url ? ` ${shortUrl(url)}:${lineNumber + 1}` : ''}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1)}%`;
  const lines = [`Busy time (excluding idle and ${(overheadUs / 1e3).toFixed(0)} ms of the profiler itself): ${(total / 1e6).toFixed(2)} s`,
    '', '| self | function |', '|---:|---|'];
  for (const [name, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`| ${pct(us)} | \`${name}\` |`);
  lines.push('', '| self | area |', '|---:|---|');
  for (const [name, us] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`| ${pct(us)} | ${name} |`);
  return lines.join('\n');
}

