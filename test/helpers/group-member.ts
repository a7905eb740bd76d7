/**
 * A consumer-group member in its own process, so a test can SIGKILL it and watch the group
 * notice through the session timeout. Prints one JSON line per assignment it receives.
 * usage: node --import tsx test/helpers/group-member.ts <bootstrap> <groupId> <topic>
 */
import { Kafka, logLevel } from 'kafkajs';

const [bootstrap, groupId, topic] = process.argv.slice(2);
if (bootstrap === undefined || groupId === undefined || topic === undefined) {
  console.error('usage: group-member <bootstrap> <groupId> <topic>');
  process.exit(2);
}
const kafka = new Kafka({ clientId: 'group-member', brokers: [bootstrap], logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 10_000 });
consumer.on(consumer.events.GROUP_JOIN, (e) => {
  console.log(JSON.stringify({ memberId: e.payload.memberId, assignment: e.payload.memberAssignment }));
});
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({ eachMessage: async () => {} });
