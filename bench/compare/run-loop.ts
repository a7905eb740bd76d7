/**
 * The loop that runs a system's workloads and scenarios one after another. A run that throws is
 * recorded (failures.ts) and the loop goes on with the next; once a broker process is gone,
 * though, every run after it would only wait for its tools' timeouts, so those are recorded as
 * not run instead.
 */
import type { RunFailures } from './failures.js';
import { SYSTEM_NAMES, type SystemUnderTest } from './systems.js';
import type { Step, SystemResults, Workload } from './workloads.js';

/** Whether process `pid` exists (signal 0 only checks; EPERM means it exists, not ours). */
function processExists(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The system's broker processes that have exited. */
export function goneBrokers(system: SystemUnderTest): (number | undefined)[] {
  return system.pids().filter((pid) => !processExists(pid));
}

export async function runEach(st: Step, workloads: Workload[], into: SystemResults,
  failures: RunFailures): Promise<void> {
  const name = SYSTEM_NAMES[st.system.id];
  for (const w of workloads) {
    const gone = goneBrokers(st.system);
    if (gone.length > 0) {
      failures.add(name, w.name, `not run: broker process ${gone.join(', ')} has exited`);
      continue;
    }
    await failures.attempt(name, w.name, () => w.run(st, into));
  }
}
