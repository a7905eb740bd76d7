/**
 * Draining a partition before this broker lets it go (a handoff, or taking it back after a lost
 * lease, both in leadership.ts): everything its log appended must be durable and in object
 * storage, so that the next leader serves it without replaying this broker's WAL.
 */
import type { PartitionLog } from '../partition/partition-log.js';
import type { Uploader } from '../partition/uploader.js';
import { handoffLimits } from '../limits.js';

/**
 * Waits (bounded by handoffDrainMsMax) until everything `log` appended is durable and uploaded.
 * The bound holds even if an upload never settles (a store call without a deadline): the caller
 * tries again later rather than waiting forever in its queue. True when drained.
 */
export async function drainPartition(log: PartitionLog, uploader: Uploader): Promise<boolean> {
  const deadline = Date.now() + handoffLimits.handoffDrainMsMax;
  while (log.uploadedEndOffset < log.nextOffset && !log.fenced && Date.now() < deadline) {
    // A failed upload (e.g. another partition's commit fenced) is retried until the deadline.
    let timer: NodeJS.Timeout | undefined;
    const flushed = log.highWatermark === log.nextOffset && await Promise.race([
      uploader.flush().then(() => true, () => false),
      new Promise<false>((r) => {
        timer = setTimeout(() => r(false), Math.max(0, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    if (!flushed) await new Promise((r) => setTimeout(r, handoffLimits.handoffPollMs));
  }
  return !log.fenced && log.uploadedEndOffset >= log.nextOffset;
}
