/**
 * Child process for crash.test.ts: opens the WAL in argv[2], continues numbering after the highest
 * entry it recovers, and appends from several concurrent appenders until it is SIGKILLed.
 *
 * With argv[3] = 'chunked', each group is written in small pieces (separate writev calls), so a
 * kill often lands mid-group and leaves a torn tail on disk, as a power cut would.
 *
 * Protocol on stdout (a pipe, which Node writes synchronously on Linux, so a line is in the pipe
 * before the next step; not fs.writeSync, which fails with EAGAIN when the pipe is full):
 *   ready <lsnDurable>        recovery done
 *   ack <n> <lsn>             append of entry n resolved: it is acknowledged
 *   truncating <lsn>          about to call truncateBefore(lsn): entries below may vanish
 */
import { bufferHeaderCodec } from '../../../storage/wal/header-codec.js';
import { Wal } from '../../../storage/wal/wal.js';
import {
  faultIo,
  crashLimits,
  crashPayloadBytesMax,
  headerFor,
  numberOf,
  payloadFor,
  payloadSizeFor,
} from './helpers.js';

const appenderCount = 8;
const truncateEveryAcks = 200;
const truncateLagEntries = 1000;
const chunkBytes = 700;

function say(line: string): void {
  process.stdout.write(line + '\n');
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: crash-child.ts <wal dir> [chunked]');
const io = faultIo({
  writev: async (file, buffers, positionBytes) => {
    const piece = buffers[0]!.subarray(0, chunkBytes);
    return (await file.writev([piece], positionBytes)).bytesWritten;
  },
});
const chunked = process.argv[3] === 'chunked';
const options = { dir, headerCodec: bufferHeaderCodec, limits: crashLimits };
const wal = await Wal.open(chunked ? { ...options, io } : options);
let nMax = 0;
for await (const entry of wal.readFrom(wal.lsnOldest)) {
  nMax = Math.max(nMax, numberOf(entry.header));
}
say(`ready ${wal.lsnDurable}`);

let nNext = nMax + 1;
let acked = 0;

async function appender(): Promise<never> {
  for (;;) {
    const n = nNext++;
    const payload = payloadFor(n, payloadSizeFor(n, crashPayloadBytesMax));
    const lsn = await wal.append(headerFor(n), payload);
    say(`ack ${n} ${lsn}`);
    acked += 1;
    if (acked % truncateEveryAcks === 0 && wal.lsnDurable > truncateLagEntries) {
      const cut = wal.lsnDurable - truncateLagEntries;
      say(`truncating ${cut}`);
      await wal.truncateBefore(cut);
    }
  }
}

await Promise.all(Array.from({ length: appenderCount }, () => appender()));
