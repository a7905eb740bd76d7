/**
 * The WAL's error types. Each names what an operator must do differently, so a caller can branch
 * on the class rather than on message text.
 */

/** Durable data is damaged in a way a crash cannot explain; recovery refuses to guess. */
export class WalCorruptError extends Error {
  override readonly name = 'WalCorruptError';
  constructor(
    readonly path: string,
    readonly offsetBytes: number,
    readonly reason: string,
  ) {
    super(`WAL corrupt: ${path} at byte ${offsetBytes}: ${reason}`);
  }
}

/** Another live process owns the WAL folder (or its owner cannot be shown to be dead). */
export class WalLockedError extends Error {
  override readonly name = 'WalLockedError';
  constructor(
    readonly dir: string,
    readonly reason: string,
  ) {
    super(`WAL ${dir} is locked: ${reason}`);
  }
}

/**
 * A write or fsync failed. After a failed fsync the kernel may have dropped dirty pages, so the
 * in-memory view of what is durable can no longer be trusted: every later append fails until the
 * WAL is closed and reopened, which recovers from what is actually on disk.
 */
export class WalFailedError extends Error {
  override readonly name = 'WalFailedError';
  constructor(cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`WAL failed and must be reopened: ${reason}`, { cause });
  }
}

export class WalClosedError extends Error {
  override readonly name = 'WalClosedError';
  constructor() {
    super('WAL is closed');
  }
}

/**
 * The WAL's disk has no room (ENOSPC, EDQUOT). Unlike WalFailedError this is retriable: the append
 * was not written (any partial bytes were cut off again) and nothing already durable is affected,
 * so appends resume once space returns (an upload trims segments, or an operator frees space).
 */
export class WalNoSpaceError extends Error {
  override readonly name = 'WalNoSpaceError';
  constructor(
    readonly dir: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`WAL disk full: no space left in ${dir} (${reason})`, { cause });
  }
}

/** ENOSPC (no space) or EDQUOT (quota): the file system refused to grow a file. */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
