/**
 * The Node (V8) flags every broker process runs with. They must be on the `node` command line (V8
 * sizes its heap when the process starts), so each way of starting a broker names them: the
 * `start` script in package.json, bin/ledgerstream.js's first line, both Dockerfiles,
 * scripts/cluster-local.sh and the test helper that spawns brokers. test/cli/node-flags.test.ts
 * checks that they all do.
 *
 * --max-semi-space-size=64: the young generation's semi-spaces grow to 64 MiB instead of 16.
 * A broker's short-lived objects (a request, its parsed form, its promises) live until their WAL
 * fsync, tens of milliseconds. With 16 MiB semi-spaces a busy broker scavenges every fraction of a
 * second, while most of them are still alive, so each scavenge copies them and promotes many to
 * the old generation. Measured on the agent-fleet load (1,000 idempotent producers, 10,000
 * produce requests a second): scavenges took 5.6 s of the main thread before and 1.5 s after, the
 * broker's peak RSS fell (597 → 516 MiB: less is promoted), and produce p50 fell several-fold
 * (issue 13). Memory: at most 3 × 64 MiB more young generation, only under load.
 *
 * --initial-old-space-size=256: the old generation may grow to 256 MiB before V8 marks it for its
 * own sake. V8 starts an incremental mark-compact whenever the old generation's room left (its
 * limit minus its size) is smaller than the young generation's capacity, since one scavenge could
 * promote that much. A broker's old generation is small (about 20 MiB live) and V8 sets its limit
 * to a multiple of that (about 45 MiB), so with 64 MiB semi-spaces the room left was always
 * smaller and the broker marked its heap back to back: 30 mark-compacts in one partition's
 * 150,000-record produce run (`--trace-incremental-marking` said "Start (task)" with 24 MiB of
 * room). With this flag there were 3, each started by the external memory (Buffers) the run
 * allocated, which still bounds how much garbage a broker holds. Measured on that run, 3 pairs
 * alternating on one machine: broker CPU 322–453 → 275–293 ticks (acks=all), mark-compact time
 * 489–758 → 45–59 ms, peak RSS unchanged (about 320 MiB); 16 partitions: 178–208 → 141–175 ticks.
 */
export const BROKER_NODE_FLAGS: readonly string[] = Object.freeze([
  '--max-semi-space-size=64', '--initial-old-space-size=256',
]);
