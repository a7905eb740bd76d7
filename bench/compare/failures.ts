/**
 * The runs of a benchmark that failed. A system's start, a workload or a scenario that throws is
 * recorded here with its error, and the benchmark goes on with the next one: one failure (a
 * transactional produce that threw once cut a 28-minute run short) costs its own figures, not
 * the whole report's. The report lists the failures under Problems and the process exits 1.
 */

/** How much of an error the report quotes: the load tools' errors carry 16 KB of their output. */
export const ERROR_LINES_MAX = 40;
export const ERROR_CHARS_MAX = 4000;

export interface RunFailure {
  /** The system's name in the report ('Kafka', 'Ledgerstream ×3'). */
  system: string;
  /** What failed: 'start', a workload's or scenario's name. */
  run: string;
  /** The error, whole (its stack when it has one); the report quotes the start of it. */
  error: string;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

export class RunFailures {
  readonly list: RunFailure[] = [];

  constructor(private readonly log: (line: string) => void) {}

  /** Runs `fn`; if it throws, records why and returns undefined. */
  async attempt<T>(system: string, run: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      this.add(system, run, errorText(err));
      return undefined;
    }
  }

  /** Records a run that failed or could not run at all. */
  add(system: string, run: string, error: string): void {
    this.list.push({ system, run, error });
    this.log(`${system}: ${run} failed, going on with the next run: ${error.split('\n')[0]}`);
  }

  /** The process's exit status: 1 when anything failed, so a script sees it. */
  exitCode(): number {
    return this.list.length > 0 ? 1 : 0;
  }
}

/**
 * A failure as one item of the report's Problems list: the first line of the error, then its
 * start, bounded, as a code block inside the item.
 */
export function failureProblem(f: RunFailure): string {
  const lines = f.error.slice(0, ERROR_CHARS_MAX).split('\n').slice(0, ERROR_LINES_MAX);
  const cut = lines.join('\n').length < f.error.length ? ['…'] : [];
  const quoted = [...lines, ...cut].map((l) => `  ${l.replace(/```/g, "'''")}`);
  return [`${f.system}: ${f.run} failed (not measured): ${lines[0] ?? ''}`, '', '  ```',
    ...quoted, '  ```'].join('\n');
}
