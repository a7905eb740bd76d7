/**
 * Stops kafkajs 2.2.4 consumer fetchers that outlive their runner, which otherwise spin in
 * microtasks and starve every timer of the process (the chaos test's hang in CI).
 *
 * How it happens (node_modules/kafkajs/src/consumer/): when the brokers in the metadata change,
 * a fetcher throws KafkaJSFetcherRebalanceError and FetchManager.start awaits stop() of the other
 * fetchers (each waits for its fetch in flight), then creates new fetchers and starts them. If
 * consumer.disconnect() (or a crash, which disconnects) stops the runner in that window,
 * Runner.stop() stops only the old fetchers, and the new ones are never stopped. Runner.fetch of a
 * runner that is not running answers [] at once, and a fetcher loops `while (isRunning) await
 * fetch()`: a loop of resolved promises that never yields to the macrotask queue. No timer fires
 * again (not vitest's test timeout, not the chaos run's hard deadline) and disconnect() never
 * returns, since the runner waits for the fetch manager to end.
 *
 * The patch: Runner.fetch of a runner that is not running stops the fetch manager's current
 * fetchers (the ones left behind) and yields to the macrotask queue before answering [], so those
 * fetchers end, FetchManager.start returns and the runner finishes stopping as it would have.
 * A running runner's fetch is unchanged.
 */
import { createRequire } from 'node:module';

interface KafkajsRunner {
  running: boolean;
  fetchManager: { stop(): Promise<void> };
  fetch(nodeId: number): Promise<unknown[]>;
}

const patched = Symbol.for('ledgerstream.kafkajs-stopped-runner');

/** The prototype whose fetch is patched; kafkajs's own module, the one its consumers use. */
function runnerPrototype(): KafkajsRunner & { [patched]?: true } {
  const require = createRequire(import.meta.url);
  const Runner = require('kafkajs/src/consumer/runner.js') as { prototype: KafkajsRunner };
  if (typeof Runner.prototype.fetch !== 'function' || !('stop' in Runner.prototype)) {
    throw new Error('kafkajs consumer Runner has no fetch/stop: the patch does not fit it');
  }
  return Runner.prototype;
}

/** Applies the patch (once per process; later calls do nothing). */
export function stopFetchersOfStoppedRunners(): void {
  const proto = runnerPrototype();
  if (proto[patched]) return;
  const fetchOfRunning = proto.fetch;
  proto.fetch = async function fetch(this: KafkajsRunner, nodeId: number): Promise<unknown[]> {
    if (this.running) return fetchOfRunning.call(this, nodeId);
    // Not awaited: it waits for every fetcher to end, this caller included, which ends only once
    // this fetch has answered and the fetcher sees it was stopped.
    void this.fetchManager.stop();
    await new Promise((resolve) => setImmediate(resolve));
    return [];
  };
  proto[patched] = true;
}
