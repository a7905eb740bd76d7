// Fault injection for sqlite-writer-thread.test.ts: a SQLite writer thread that dies (exit code
// 7) on the first request it gets, before answering it.
import { parentPort } from 'node:worker_threads';

parentPort.once('message', () => process.exit(7));
