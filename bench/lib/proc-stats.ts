/**
 * What a benchmark reads about processes from /proc (Linux): CPU seconds, resident memory, the
 * whole machine's busy share, and the CPU of reaped child processes. Every reader returns 0 when
 * the process or the file is gone: a figure, never a crash, in the middle of a run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/<pid>/stat after the command name; [0] is field 3 (state). */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, in seconds (0 if it is gone). */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / CLK_TCK : 0;
}

/**
 * cutime + cstime of this process: CPU used by its children that have exited and been reaped
 * (Node reaps them). The difference across a run is the CPU of the load generators that ran and
 * exited inside it, whatever language they are written in.
 */
export function reapedChildrenCpuSeconds(): number {
  const f = statFields('self');
  return f ? (Number(f[13]) + Number(f[14])) / CLK_TCK : 0;
}

/** A /proc/<pid>/status field in KiB (VmRSS, VmHWM), or 0. */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
export function machineJiffies(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal; guest is inside user
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

export interface MeterReading {
  wallS: number;
  /** CPU seconds of the metered processes, summed. */
  cpuS: number;
  /** Highest sum of the metered processes' RSS seen in one sample (every 100 ms), KiB. */
  peakRssKiB: number;
  /** CPU seconds of child processes reaped during the meter's life (load generators). */
  reapedChildrenCpuS: number;
  /** Share of all the machine's cores busy (any process, kernel threads too), 0..1. */
  machineBusy: number;
}

const SAMPLE_MS = 100;

/**
 * Meters a set of processes (one broker, or every broker of a cluster) from construction to
 * stop(): CPU read at both ends, RSS sampled every 100 ms.
 */
export class ProcessMeter {
  private readonly cpu0: number;
  private readonly children0 = reapedChildrenCpuSeconds();
  private readonly machine0 = machineJiffies();
  private readonly t0 = performance.now();
  private peakRssKiB = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: readonly number[]) {
    this.cpu0 = this.cpuNow();
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  private cpuNow(): number {
    return this.pids.reduce((s, pid) => s + cpuSeconds(pid), 0);
  }

  private sample(): void {
    this.peakRssKiB = Math.max(this.peakRssKiB, this.pids.reduce((s, pid) => s + statusKiB(pid, 'VmRSS'), 0));
  }

  stop(): MeterReading {
    clearInterval(this.timer);
    this.sample();
    const m = machineJiffies();
    return {
      wallS: (performance.now() - this.t0) / 1000,
      cpuS: this.cpuNow() - this.cpu0,
      peakRssKiB: this.peakRssKiB,
      reapedChildrenCpuS: reapedChildrenCpuSeconds() - this.children0,
      machineBusy: (m.busy - this.machine0.busy) / Math.max(1, m.total - this.machine0.total),
    };
  }
}
