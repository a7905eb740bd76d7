/**
 * A controller is elected after etcd resumes from a pause, on a 3-broker object-WAL cluster whose
 * acknowledgement window (300 ms) is much shorter than its lease (2 s). Every broker loses its
 * lease during the pause and registers again with a lease granted while etcd was stopped, so each
 * new lease arrives older than its window: registered, alive in etcd, but unconfirmed until its
 * first keep-alive is answered. That is when each broker first sees the controller key absent.
 * The campaign used to give up at that moment, on all three brokers at once: they "rejoined the
 * cluster" naming controller -1, and no controller was ever elected (the chaos run's 64 s of
 * unavailability). The deterministic versions of this race are in controller.test.ts.
 */
import { afterAll, beforeAll, it } from 'vitest';
import { ApiKey } from '../../protocol/generated/api-keys.js';
import {
  decodeMetadataResponse, defaultMetadataRequest, encodeMetadataRequest,
} from '../../protocol/generated/messages/metadata.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import { RawClient } from '../helpers/raw-client.js';
import { type TestCluster, saveBrokerLogs, startCluster } from '../helpers/cluster.js';
import { kafkaClient, waitFor, waitForStableLeaders } from '../helpers/kafka-client.js';

/** Lost leases' grants are sent about one lease into the pause and answered at its end: past
 *  the window, within the lease (see above). */
const PAUSES_MS = [3_000, 3_400];
const ELECTED_WITHIN_MS = 30_000;

let cluster: TestCluster;
/** "rejoined the cluster" lines so far, by node id (and each broker's unfinished last line). */
const rejoins = new Map<number, number>();
const partialLines = new Map<number, string>();

function countRejoins(nodeId: number, chunk: string): void {
  const lines = ((partialLines.get(nodeId) ?? '') + chunk).split('\n');
  partialLines.set(nodeId, lines.pop() ?? '');
  const count = lines.filter((line) => line.includes('"rejoined the cluster"')).length;
  rejoins.set(nodeId, (rejoins.get(nodeId) ?? 0) + count);
}

beforeAll(async () => {
  cluster = await startCluster(3, { walMode: 'object', leaseTtlMs: 2_000, ackWindowMs: 300 },
    () => ({}), countRejoins);
}, 120_000);
afterAll(async () => {
  if (cluster === undefined) return;
  try { process.kill(cluster.etcd.pid, 'SIGCONT'); } catch { /* already gone */ }
  await cluster.destroy();
});

/** The controller a broker names in Metadata v9, or null if it did not answer. */
async function controllerNamedBy(port: number): Promise<number | null> {
  let raw: RawClient | null = null;
  try {
    raw = await RawClient.connect(port);
    const request = defaultMetadataRequest();
    request.topics = [];
    raw.send(ApiKey.Metadata, 9, (w) => encodeMetadataRequest(w, 9, request));
    const frame = await raw.readFrame(2_000);
    if (frame === null) return null;
    return decodeMetadataResponse(decodeResponseFrame(ApiKey.Metadata, 9, frame).body, 9)
      .controllerId;
  } catch {
    return null;
  } finally {
    raw?.close();
  }
}

async function oneControllerNamedByAll(): Promise<boolean> {
  const named = await Promise.all(cluster.brokers.map((b) => controllerNamedBy(b.port)));
  return named.every((id) => id !== null && id >= 0 && id === named[0]);
}

it('elects a controller after etcd pauses, when every new lease arrives unconfirmed', async () => {
  await waitFor('a controller before the pauses', oneControllerNamedByAll, ELECTED_WITHIN_MS);
  for (const [round, pauseMs] of PAUSES_MS.entries()) {
    process.kill(cluster.etcd.pid, 'SIGSTOP');
    try {
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    } finally {
      process.kill(cluster.etcd.pid, 'SIGCONT');
    }
    // Ask once every broker has rejoined (each lost its lease in the pause): before that, a
    // broker may still name the controller of before the pause.
    await waitFor(`every broker rejoined after pause ${round + 1}`, () =>
      [1, 2, 3].every((nodeId) => (rejoins.get(nodeId) ?? 0) > round), ELECTED_WITHIN_MS);
    try {
      await waitFor(`a controller after pause ${round + 1}`, oneControllerNamedByAll,
        ELECTED_WITHIN_MS);
    } catch (error) {
      console.log(`broker logs in ${await saveBrokerLogs(cluster.brokers, 'pause-controller')}`);
      throw error;
    }
  }
  // The controller works: a topic created now has a leader for every partition.
  const admin = kafkaClient(cluster.bootstrap, 'pause-controller').admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'after-pauses', numPartitions: 3 }] });
    await waitForStableLeaders(admin, 'after-pauses');
  } finally {
    await admin.disconnect();
  }
}, 240_000);
