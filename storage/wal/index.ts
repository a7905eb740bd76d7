/** The WAL's public surface; other modules in this folder are internals. */
export { Wal, type WalOptions } from './wal.js';
export { WalReadOnly, type WalReadOnlyOptions } from './wal-read-only.js';
export type { WalEntry } from './reader.js';
export type { WalRecoveryReport, TornTail } from './recovery.js';
export type { WalHeaderCodec } from './header-codec.js';
export { bufferHeaderCodec, emptyHeaderCodec } from './header-codec.js';
export {
  partitionHeaderCodec, partitionKey, partitionKeyOfHeader, type PartitionEntryHeader,
} from './partition-header.js';
export {
  emptyReadOnceReport, readWalOnce, type ReadOnceOptions, type ReadOnceReport,
} from './read-once.js';
export type { WalPosition } from './checkpoint.js';
export { WalFenceCheck, fenceWal, resetWalFence, WalFenceUnreadableError } from './fence.js';
export type { WalFsyncSample, WalMetricsSnapshot } from './metrics.js';
export type { WalIo } from './io.js';
export { nodeWalIo } from './io.js';
export {
  WalClosedError, WalCorruptError, WalFailedError, WalLockedError, WalNoSpaceError,
} from './errors.js';
