/**
 * Time bounds for the chaos harness (chaos.ts, chaos-cluster-faults.ts). A kafkajs call can wait
 * far longer than its settings suggest (a connection stuck half open, a disconnect waiting for a
 * fetch loop), a SIGSTOPped process never answers, and a run that hangs must fail with a report
 * instead of holding CI until its own limit: so every wait of the harness on a client, a broker or
 * etcd goes through `bounded`, and the run as a whole races `HardDeadline`.
 */

/** Bounds of single waits, generous: each is far above what the call takes on a healthy cluster. */
export const chaosBounds = {
  /** A send with retries (kafkajs retries 30 × ≤ 1 s backoff + request timeouts). */
  sendMs: 60_000,
  /** Connecting a client, an admin call with its retries, a commit. */
  callMs: 45_000,
  /** Disconnecting a client (a consumer waits for its fetch loop). */
  disconnectMs: 15_000,
  /** A broker's graceful stop (the harness SIGKILLs after 40 s) or start (30 s limit). */
  brokerMs: 50_000,
  /** Everything after a run: stopping the load, the group, the brokers and etcd. */
  cleanupMs: 60_000,
  /**
   * The event loop not turning at all (no timer fires, so neither `bounded` nor the hard deadline
   * can act): the stall watchdog's thread then kills the cluster and the test process.
   */
  stallMs: 60_000,
} as const;

export class BoundExceededError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms`);
    this.name = 'BoundExceededError';
  }
}

/** `promise`, or a BoundExceededError after `ms` (the work itself is not cancelled). */
export function bounded<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BoundExceededError(what, ms)), ms);
  });
  promise.catch(() => {}); // a rejection after the bound is nobody's business
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * `fn` until it succeeds, at most `attempts` times 500 ms apart. For reads whose client gives up
 * on an error that Kafka calls retriable: kafkajs's admin fetchTopicOffsets fails on the first
 * NOT_LEADER_OR_FOLLOWER (a leader that just moved) where the Java admin client retries.
 */
export async function withRetries<T>(fn: () => Promise<T>, attempts = 10): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export class HardDeadlineError extends Error {
  constructor(readonly limitMs: number) {
    super(`the chaos run hit its hard deadline of ${Math.round(limitMs / 1000)} s`);
    this.name = 'HardDeadlineError';
  }
}

/**
 * The whole run's limit: `expired` rejects with a HardDeadlineError once `limitMs` have passed
 * since construction, after `onExpire` (which kills every process the run started) has run.
 */
export class HardDeadline {
  readonly expired: Promise<never>;
  fired = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly limitMs: number, onExpire: () => void) {
    this.expired = new Promise<never>((_, reject) => {
      this.timer = setTimeout(() => {
        this.fired = true;
        try { onExpire(); } finally { reject(new HardDeadlineError(limitMs)); }
      }, limitMs);
    });
    this.expired.catch(() => {}); // observed through race(); never an unhandled rejection
  }

  /** `work`, unless the deadline comes first. */
  race<T>(work: Promise<T>): Promise<T> {
    work.catch(() => {});
    return Promise.race([work, this.expired]);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/** SIGCONT (a stopped process cannot exit) then SIGKILL; false if it was gone already. */
export function killHard(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 'SIGCONT');
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
