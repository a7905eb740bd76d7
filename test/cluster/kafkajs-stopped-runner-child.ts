/**
 * Child of kafkajs-stopped-runner.test.ts: a kafkajs consumer that disconnects the moment its
 * fetch manager starts stopping its fetchers after it began consuming (the start of a fetcher
 * rebalance when a broker joins), so the runner stops inside the rebalance. Prints 'consuming',
 * 'disconnecting', 'rebalanced after disconnect' (the race happened) and 'disconnected', then
 * exits 0. A process whose fetchers spin in microtasks prints no 'disconnected' and never exits.
 *
 * Usage: kafkajs-stopped-runner-child.ts <bootstrap,...> <topic> <patched|unpatched>
 */
import { Kafka, type Consumer, logLevel } from 'kafkajs';
import { stopFetchersOfStoppedRunners } from '../helpers/kafkajs-stopped-runner.js';

const [bootstrap, topic, mode] = process.argv.slice(2);
if (bootstrap === undefined || topic === undefined ||
  (mode !== 'patched' && mode !== 'unpatched')) {
  throw new Error('usage: kafkajs-stopped-runner-child.ts <bootstrap,...> <topic> <mode>');
}
if (mode === 'patched') stopFetchersOfStoppedRunners();

const say = (line: string): void => void process.stdout.write(`${line}\n`);
let consumer: Consumer | null = null;
let consuming = false;
let disconnectAsked = false;

/** Called synchronously by kafkajs for each log entry (debug included). */
function onLog(message: string): void {
  if (message === 'Stopping fetchers...' && consuming && !disconnectAsked && consumer !== null) {
    disconnectAsked = true;
    say('disconnecting');
    consumer.disconnect().then(() => {
      say('disconnected');
      process.exit(0);
    }, (err: unknown) => {
      say(`disconnect failed: ${String(err)}`);
      process.exit(1);
    });
  } else if (message === 'Rebalancing fetchers...' && disconnectAsked) {
    say('rebalanced after disconnect');
  }
}

const kafka = new Kafka({ clientId: 'stopped-runner-child', brokers: bootstrap.split(','),
  logLevel: logLevel.DEBUG, logCreator: () => ({ log }) => onLog(String(log.message)),
  retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 } });
// Metadata refreshed every 100 ms: a broker that joins is seen at once and the fetchers rebalance.
consumer = kafka.consumer({ groupId: `stopped-runner-${process.pid}`, metadataMaxAge: 100,
  maxWaitTimeInMs: 100 });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({ eachBatch: async ({ batch }) => {
  if (batch.messages.length > 0 && !consuming) {
    consuming = true;
    say('consuming');
  }
} });
