/**
 * Fencing a shared WAL's owner, so that a broker taking over a revoked peer's partitions may
 * replay that peer's WAL at once instead of waiting out its acknowledgement window.
 *
 * The protocol, over one file (`fence`) in the owner's WAL folder, holding tokens one per line:
 *   owner:  append entries → fsync → read the fence file → acknowledge only if the token the
 *           entries were appended under is not in it
 *   reader: append the token → fsync → only then read the WAL
 * If the owner's read found no token, the reader's append came after it, so after the owner's
 * fsync: the reader's WAL read sees every entry the owner acknowledges. If it found the token,
 * nothing is acknowledged. The owner passes a token per session (the cluster uses its etcd lease),
 * so a broker that was fenced and joined again under a new token acknowledges again.
 *
 * Why a file that always exists and is read whole, not a marker file whose existence is checked:
 * on NFS a negative lookup ("no such file") may be answered from the client's cache for tens of
 * seconds, while open() revalidates an existing file's attributes and data (close-to-open
 * consistency), so the owner's read after its fsync sees what the reader wrote and closed before.
 * The owner empties the file when it opens the WAL (it holds the WAL lock, so the previous owner
 * is dead and no token of this owner exists yet); a reader that finds no file creates it.
 *
 * Cost on the owner: one open + read + close per check, and checks are coalesced: every caller
 * waits for the first read that begins after its call, so one read serves every acknowledgement
 * that became durable while the previous one ran.
 */
import assert from 'node:assert/strict';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';

export const walFenceFileName = 'fence';

export const walFenceLimits = Object.freeze({
  /** A fence file larger than this is not read: the owner then refuses every acknowledgement. Each
   *  token is written once per fenced session (readers skip tokens present), so this holds about
   *  3,000 fenced sessions of one owner process. */
  fileBytesMax: 64 * 1024,
  tokenBytesMax: 64,
});

const tokenPattern = /^[0-9A-Za-z._-]+$/;

function assertToken(token: string): void {
  assert.ok(token.length > 0 && token.length <= walFenceLimits.tokenBytesMax &&
    tokenPattern.test(token), `fence token ${JSON.stringify(token)}`);
}

/** The fence file outgrew its limit: the owner can no longer tell its own token from the others. */
export class WalFenceUnreadableError extends Error {
  constructor(path: string) {
    super(`fence file ${path} is larger than ${walFenceLimits.fileBytesMax} bytes`);
    this.name = 'WalFenceUnreadableError';
  }
}

/** The tokens in the fence file (empty if there is none); `buffer` holds fileBytesMax + 1 bytes. */
export async function readFenceTokens(path: string, buffer: Buffer): Promise<string[]> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > walFenceLimits.fileBytesMax) throw new WalFenceUnreadableError(path);
    // A line without its newline is an append in progress: its token is not in force yet.
    const complete = buffer.lastIndexOf(0x0a, filled - 1);
    return complete < 0 ? [] : buffer.toString('latin1', 0, complete).split('\n');
  } finally {
    await handle.close();
  }
}

/** The owner, holding the WAL lock, before it acknowledges anything: an empty fence file. */
export async function resetWalFence(dir: string): Promise<void> {
  const handle = await open(join(dir, walFenceFileName), 'w');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A reader, before it reads `dir`'s WAL: from its next check on, the owner acknowledges nothing
 * appended under `token`. Returns false when the token was in the file already. Durable (fsynced)
 * when it returns.
 */
export async function fenceWal(dir: string, token: string): Promise<boolean> {
  assertToken(token);
  const path = join(dir, walFenceFileName);
  const present = await readFenceTokens(path, Buffer.allocUnsafe(walFenceLimits.fileBytesMax + 1));
  if (present.includes(token)) return false;
  const handle = await open(path, 'a');
  try {
    await handle.appendFile(`${token}\n`, 'latin1');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

/** The owner's side: whether a token is fenced, from a read of the file begun after asking. */
export class WalFenceCheck {
  private readonly path: string;
  /** One read at a time, so one buffer. */
  private readonly buffer = Buffer.allocUnsafe(walFenceLimits.fileBytesMax + 1);
  /** Tokens seen fenced: a fence is never lifted (the owner moves on to a new token instead). */
  private readonly fenced = new Set<string>();
  private reading: Promise<void> | null = null;
  /** The read that starts when the one in flight ends, shared by everyone who asked meanwhile. */
  private queued: Promise<void> | null = null;

  /** @param readTokens the file read (tests put a read they control in its place) */
  constructor(dir: string, private readonly readTokens = readFenceTokens) {
    this.path = join(dir, walFenceFileName);
  }

  /** Rejects when the file cannot be read: the caller must then not acknowledge. */
  async isFenced(token: string): Promise<boolean> {
    assertToken(token);
    if (this.fenced.has(token)) return true;
    await this.readBegunNow();
    return this.fenced.has(token);
  }

  /** A read that begins after this call: the one in flight began earlier, so it cannot serve. */
  private readBegunNow(): Promise<void> {
    if (this.reading === null) return this.read();
    const inFlight = this.reading;
    this.queued ??= inFlight.catch(() => undefined).then(() => {
      this.queued = null;
      // Someone may have begun a read between the end of that one and this callback: it began
      // after every caller of this queued read asked, so it serves them too.
      return this.reading ?? this.read();
    });
    return this.queued;
  }

  private read(): Promise<void> {
    assert.equal(this.reading, null, 'one read of the fence file at a time');
    const reading = this.readTokens(this.path, this.buffer).then((tokens) => {
      for (const token of tokens) if (token !== '') this.fenced.add(token);
    }).finally(() => {
      this.reading = null;
    });
    this.reading = reading;
    return reading;
  }
}
