/**
 * Client quotas and connection limits on a real broker process:
 *  - kafka-configs.sh (Kafka's Java CLI) alters and describes quotas of users, client ids, both,
 *    defaults and ips (KIP-612), and AlterClientQuotas refuses what Kafka refuses;
 *  - a producer over producer_byte_rate, and a consumer over consumer_byte_rate, get
 *    throttle_time_ms and then their connection reads nothing until the throttle is over (a
 *    lower bound only: a busy machine can make an answer later, never earlier); a throttled Fetch
 *    comes back without records; other clients are not throttled;
 *  - max.connections.per.ip (with an override) and max.connections close the extra connection
 *    and log one line each; max.connection.creation.rate makes the extra connection wait; a
 *    connection past its ip entity's connection_creation_rate is held unserved, then closed.
 * The 30 s rate measurement is `npm run bench:quotas` (bench/quotas.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import {
  describeRun, expectSuccess, javaAvailable, runKafkaTool,
} from '../helpers/kafka-tools.js';
import { alterQuotas, describeQuotas } from '../helpers/quota-requests.js';
import * as DR from '../../protocol/generated/messages/delete-records.js';
import * as F from '../../protocol/generated/messages/fetch.js';
import {
  answer, apiVersionsAfterMs, createTopic, fetchInSession, fetchOnce, produce,
} from '../helpers/raw-requests.js';
import { RawClient } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/kafka-client.js';

const KIB = 1024;

describe('client quotas', () => {
  let broker: BrokerProcess;
  let admin: RawClient;
  beforeAll(async () => {
    broker = await startBroker();
    admin = await RawClient.connect(broker.port, { clientId: 'quota-admin' });
  }, 60_000);
  afterAll(async () => {
    admin?.close();
    await broker?.destroy();
  });

  it.skipIf(!javaAvailable())(
    'kafka-configs.sh alters and describes quotas of users, clients, both and defaults',
    () => kafkaConfigsQuotas(broker, admin), 180_000);

  it('refuses bad entities and values with Kafka\'s messages, changing nothing',
    () => refusesBadEntities(admin));

  it('throttles a producer over producer_byte_rate: throttle_time_ms, then muted', async () => {
    const topic = 'quota-produce';
    expect(await createTopic(admin, topic)).toBe(ErrorCode.NONE);
    expect(await alterQuotas(admin, { 'client-id': 'slow-producer' },
      { producer_byte_rate: 10_000 }))
      .toMatchObject({ errorCode: ErrorCode.NONE });
    const producer = await RawClient.connect(broker.port, { clientId: 'slow-producer' });
    const other = await RawClient.connect(broker.port, { clientId: 'free-producer' });
    // The first window allows about 10 s of quota (100 KB): 60 KB passes, 120 KB is 20% over.
    expect(await produce(producer, topic, 60 * KIB)).toEqual({ errorCode: 0, throttleTimeMs: 0 });
    const over = await produce(producer, topic, 60 * KIB);
    expect(over.errorCode).toBe(ErrorCode.NONE); // the data is taken; only the pace is held back
    expect(over.throttleTimeMs).toBeGreaterThan(1000);
    expect(over.throttleTimeMs).toBeLessThan(10_000);
    // Muted: a request sent at once waits for the throttle (a lower bound: robust to a busy
    // machine, which can only make an answer later).
    expect(await apiVersionsAfterMs(producer)).toBeGreaterThan(over.throttleTimeMs / 2);
    expect(await produce(other, topic, 200 * KIB)).toEqual({ errorCode: 0, throttleTimeMs: 0 });
    producer.close();
    other.close();
  }, 60_000);

  it('throttles a consumer over consumer_byte_rate: an empty answer, then muted', async () => {
    const topic = 'quota-fetch';
    expect(await createTopic(admin, topic)).toBe(ErrorCode.NONE);
    for (let i = 0; i < 30; i++) await produce(admin, topic, 10 * KIB);
    expect(await alterQuotas(admin, { 'client-id': 'slow-consumer' },
      { consumer_byte_rate: 20_000 }))
      .toMatchObject({ errorCode: ErrorCode.NONE });
    const consumer = await RawClient.connect(broker.port, { clientId: 'slow-consumer' });
    // One answer is capped at what the quota lets through in a window: 20,000 x 10 s.
    const first = await fetchOnce(consumer, topic, 0);
    expect(first.throttleTimeMs).toBe(0);
    expect(first.recordBytes).toBeGreaterThan(100 * KIB);
    expect(first.recordBytes).toBeLessThanOrEqual(200_000 + 11 * KIB);
    const second = await fetchOnce(consumer, topic, 0);
    expect(second.throttleTimeMs).toBeGreaterThan(0);
    expect(second).toMatchObject({ partitions: 0, recordBytes: 0 });
    expect(await apiVersionsAfterMs(consumer)).toBeGreaterThan(second.throttleTimeMs / 2);
    const free = await RawClient.connect(broker.port, { clientId: 'free-consumer' });
    expect(await fetchOnce(free, topic, 0)).toMatchObject({ throttleTimeMs: 0,
      recordBytes: expect.any(Number) as number });
    consumer.close();
    free.close();
  }, 60_000);

  it('takes back a throttled Fetch\'s session update: the next answer tells what it withheld',
    () => throttledSessionFetch(broker, admin), 90_000);
});

/**
 * A throttled Fetch in a session is answered empty and leaves the session as it was, so the next
 * answer tells what it withheld: here partition 1's log start, moved by DeleteRecords, which is
 * news without records, while partition 0's records put the client over its quota. A throttled
 * full Fetch opens no session.
 */
async function throttledSessionFetch(broker: BrokerProcess, admin: RawClient): Promise<void> {
  const topic = 'quota-session';
  expect(await createTopic(admin, topic, 2)).toBe(ErrorCode.NONE);
  for (let i = 0; i < 30; i++) await produce(admin, topic, 10 * KIB, 0);
  for (let i = 0; i < 10; i++) await produce(admin, topic, 100, 1);
  for (const clientId of ['session-consumer', 'full-consumer']) {
    expect(await alterQuotas(admin, { 'client-id': clientId }, { consumer_byte_rate: 20_000 }))
      .toMatchObject({ errorCode: ErrorCode.NONE });
  }
  // A full Fetch reads partition 0 up to the quota's window and opens a session; partition 1 is
  // asked at its end.
  const consumer = await RawClient.connect(broker.port, { clientId: 'session-consumer' });
  const full = await fetchIn(consumer, topic, 0, 0, [[0, 0], [1, 10]]);
  expect(full.throttleTimeMs).toBe(0);
  expect(full.sessionId).toBeGreaterThan(0);
  expect(await deleteRecordsBefore(admin, topic, 1, 5)).toBe(ErrorCode.NONE);
  // Partition 0's records again (the client did not move): over the quota, answered empty.
  const withheld = await fetchIn(consumer, topic, full.sessionId, 1, []);
  expect(withheld.throttleTimeMs).toBeGreaterThan(0);
  expect(withheld).toMatchObject({ sessionId: full.sessionId, responses: [] });
  // Once the quota lets an answer through, it carries partition 1's new log start too.
  let next = withheld;
  for (let epoch = 2; next.throttleTimeMs > 0 && epoch < 100; epoch++) {
    next = await fetchIn(consumer, topic, full.sessionId, epoch, []);
  }
  expect(next.throttleTimeMs).toBe(0);
  const answered = next.responses.flatMap((t) => t.partitions);
  expect(answered.map((p) => [p.partitionIndex, Number(p.logStartOffset)]))
    .toEqual([[0, 0], [1, 5]]);
  expect(answered[0]!.records?.length).toBeGreaterThan(0);
  consumer.close();

  // A throttled full Fetch opens no session (Kafka answers it with session id 0).
  const other = await RawClient.connect(broker.port, { clientId: 'full-consumer' });
  expect((await fetchOnce(other, topic, 0)).throttleTimeMs).toBe(0);
  const throttledFull = await fetchIn(other, topic, 0, 0, [[0, 0]]);
  expect(throttledFull.throttleTimeMs).toBeGreaterThan(0);
  expect(throttledFull).toMatchObject({ sessionId: 0, responses: [] });
  other.close();
}

/** Fetch v12 of `topic` in session `sessionId` at `epoch`, naming each [partition, offset]. */
function fetchIn(client: RawClient, topic: string, sessionId: number, epoch: number,
  asked: [number, number][]): Promise<F.FetchResponse> {
  return fetchInSession(client, 12, { name: topic, id: '' }, sessionId, epoch,
    asked.map(([partition, offset]) => ({ partition, offset })));
}

/** DeleteRecords v1: `partition` of `topic` starts at `offset`; its error code. */
async function deleteRecordsBefore(client: RawClient, topic: string, partition: number,
  offset: number): Promise<number> {
  const req: DR.DeleteRecordsRequest = { ...DR.defaultDeleteRecordsRequest(), timeoutMs: 10_000,
    topics: [{ ...DR.defaultDeleteRecordsRequestDeleteRecordsTopic(), name: topic,
      partitions: [{ ...DR.defaultDeleteRecordsRequestDeleteRecordsPartition(),
        partitionIndex: partition, offset: BigInt(offset) }] }] };
  client.send(21, 1, (w) => DR.encodeDeleteRecordsRequest(w, 1, req));
  const res = DR.decodeDeleteRecordsResponse(await answer(client, 21, 1), 1);
  return res.topics[0]!.partitions[0]!.errorCode;
}

describe('connection limits', () => {
  let broker: BrokerProcess;
  let rated: BrokerProcess;
  let ipRated: BrokerProcess;
  beforeAll(async () => {
    [broker, rated, ipRated] = await Promise.all([
      startBroker({ settings: { maxConnections: 4, maxConnectionsPerIp: 2,
        maxConnectionsPerIpOverrides: '127.0.0.2:3' } }),
      startBroker({ settings: { maxConnectionCreationRate: 1, quotaWindowNum: 2 } }),
      startBroker({ settings: { quotaWindowNum: 2 } })]);
  }, 60_000);
  afterAll(async () => {
    await broker?.destroy();
    await rated?.destroy();
    await ipRated?.destroy();
  });

  const rejections = (b: BrokerProcess) => b.output().split('\n')
    .filter((l) => l.includes('rejected connection from'));

  it('closes the connection past max.connections.per.ip or max.connections', async () => {
    const open = (localAddress: string) => RawClient.connect(broker.port, { localAddress });
    const fromOne = [await open('127.0.0.1'), await open('127.0.0.1')];
    const thirdFromOne = await open('127.0.0.1');
    expect(await thirdFromOne.waitClosed()).toBe(true);
    // The broker's log reaches us through a pipe, maybe after the close.
    await waitFor('one rejection logged', () => rejections(broker).length >= 1, 10_000);
    expect(rejections(broker)).toHaveLength(1);
    expect(rejections(broker)[0]).toContain('max.connections.per.ip');
    const fromTwo = [await open('127.0.0.2'), await open('127.0.0.2')]; // its override is 3
    const fifth = await open('127.0.0.2');
    expect(await fifth.waitClosed()).toBe(true);
    await waitFor('two rejections logged', () => rejections(broker).length >= 2, 10_000);
    expect(rejections(broker)).toHaveLength(2);
    expect(rejections(broker)[1]).toMatch(/"setting":"max.connections"/);
    for (const c of [...fromOne, ...fromTwo]) {
      expect(await apiVersionsAfterMs(c)).toBeGreaterThan(0);
    }
    fromOne[0]!.close();
    await new Promise((r) => setTimeout(r, 200)); // the broker sees the close
    const again = await open('127.0.0.1');
    expect(await apiVersionsAfterMs(again)).toBeGreaterThan(0);
    for (const c of [...fromOne, ...fromTwo, again]) c.close();
  }, 60_000);

  it('makes a connection past max.connection.creation.rate wait before it is served', async () => {
    const first = await RawClient.connect(rated.port);
    expect(await apiVersionsAfterMs(first)).toBeGreaterThan(0);
    // Window of 2 one-second samples: a second connection at once is 2/s against 1/s.
    const second = await RawClient.connect(rated.port);
    expect(await apiVersionsAfterMs(second)).toBeGreaterThan(500);
    expect(rated.output()).toContain('max.connection.creation.rate; serving it after a wait');
    first.close();
    second.close();
  }, 60_000);

  it('holds a connection past its ip connection_creation_rate unserved, then closes it',
    () => ipConnectionRate(ipRated), 60_000);
});

/** AlterClientQuotas refuses bad entities and values with Kafka's messages, changing nothing. */
async function refusesBadEntities(admin: RawClient): Promise<void> {
  const before = await describeQuotas(admin);
  expect(await alterQuotas(admin, { ip: 'nowhere' }, { connection_creation_rate: 5 }))
    .toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'nowhere is not a valid IP or resolvable host.' });
  expect(await alterQuotas(admin, { ip: '127.0.0.1', user: 'x' },
    { connection_creation_rate: 5 })).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
  expect(await alterQuotas(admin, { ip: '127.0.0.1' }, { producer_byte_rate: 5 }))
    .toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'Invalid configuration key producer_byte_rate' });
  expect(await alterQuotas(admin, { user: '' }, { producer_byte_rate: 5 }))
    .toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'Empty user not supported' });
  expect(await alterQuotas(admin, { user: 'x' }, { producer_byte_rate: -1 })).toMatchObject({
    errorCode: ErrorCode.INVALID_REQUEST,
    errorMessage: 'Quota producer_byte_rate must be greater than 0' });
  expect(await describeQuotas(admin)).toEqual(before);
}

/**
 * KIP-612: a connection past its address's connection_creation_rate (the ip entity's, else the
 * default ip entity's) is held unserved for the throttle time, then closed; other addresses are
 * served. Window of 2 one-second samples: a second connection at once is 2/s against 1/s, so it
 * is held (2 - 1) / 1 x 1 s = 1 s.
 */
async function ipConnectionRate(ipRated: BrokerProcess): Promise<void> {
  const admin = await RawClient.connect(ipRated.port);
  const open = (localAddress: string) => RawClient.connect(ipRated.port, { localAddress });
  const heldThenClosed = async (localAddress: string) => {
    const c = await open(localAddress);
    const startMs = performance.now();
    expect(await c.waitClosed(5000), `${localAddress} closed`).toBe(true);
    return performance.now() - startMs;
  };
  expect(await alterQuotas(admin, { ip: '127.0.0.3' }, { connection_creation_rate: 1 }))
    .toMatchObject({ errorCode: ErrorCode.NONE });
  expect(await describeQuotas(admin)).toEqual([{ entity: { ip: '127.0.0.3' },
    values: { connection_creation_rate: 1 } }]);
  const first = await open('127.0.0.3');
  expect(await apiVersionsAfterMs(first)).toBeGreaterThan(0);
  expect(await heldThenClosed('127.0.0.3')).toBeGreaterThan(500);
  const other = await open('127.0.0.4'); // no quota of its own, no default
  expect(await apiVersionsAfterMs(other)).toBeLessThan(500);
  expect(await alterQuotas(admin, { ip: null }, { connection_creation_rate: 1 }))
    .toMatchObject({ errorCode: ErrorCode.NONE });
  await new Promise((r) => setTimeout(r, 200)); // the broker follows the store's change
  const byDefault = await open('127.0.0.5');
  expect(await apiVersionsAfterMs(byDefault)).toBeGreaterThan(0);
  expect(await heldThenClosed('127.0.0.5')).toBeGreaterThan(500);
  await waitFor('the refusals logged', () => ipRated.output().split('\n').filter((l) =>
    l.includes('connection_creation_rate quota')).length === 2, 10_000);
  for (const c of [first, other, byDefault, admin]) c.close();
}

/** kafka-configs.sh (the Java CLI) on quotas of users, client ids, both, and defaults. */
async function kafkaConfigsQuotas(broker: BrokerProcess, admin: RawClient): Promise<void> {
  const configs = async (args: string[]) => expectSuccess(await runKafkaTool('configs',
    ['--bootstrap-server', broker.bootstrap, ...args], { timeoutMs: 60_000 }), broker.output());
  /**
   * Describing one user also describes its SCRAM credentials (DescribeUserScramCredentials,
   * the authentication work's API): until the broker serves it, the tool prints the quotas and
   * then exits 1 naming that API, and nothing else may fail.
   */
  const describeUser = async (name: string) => {
    const r = await runKafkaTool('configs', ['--bootstrap-server', broker.bootstrap, '--describe',
      '--entity-type', 'users', '--entity-name', name], { timeoutMs: 60_000 });
    if (r.code !== 0) {
      expect(r.stdout + r.stderr, describeRun(r)).toContain(
        'does not support DESCRIBE_USER_SCRAM_CREDENTIALS');
    }
    return r;
  };
  await configs(['--alter', '--entity-type', 'users', '--entity-name', 'alice',
    '--add-config', 'producer_byte_rate=1024,consumer_byte_rate=2048']);
  await configs(['--alter', '--entity-type', 'clients', '--entity-default',
    '--add-config', 'request_percentage=50']);
  await configs(['--alter', '--entity-type', 'users', '--entity-name', 'alice',
    '--entity-type', 'clients', '--entity-name', 'app', '--add-config', 'producer_byte_rate=4096']);
  const alice = await describeUser('alice');
  expect(alice.stdout).toMatch(/Quota configs for user-principal 'alice' are (consumer_byte_rate=2048\.0, producer_byte_rate=1024\.0|producer_byte_rate=1024\.0, consumer_byte_rate=2048\.0)/);
  const both = await configs(['--describe', '--entity-type', 'users', '--entity-name', 'alice',
    '--entity-type', 'clients', '--entity-name', 'app']);
  expect(both.stdout).toContain(
    "Quota configs for user-principal 'alice', client-id 'app' are producer_byte_rate=4096.0");
  const clients = await configs(['--describe', '--entity-type', 'clients']);
  expect(clients.stdout).toContain(
    'Quota configs for the default client-id are request_percentage=50.0');
  await configs(['--alter', '--entity-type', 'users', '--entity-name', 'alice',
    '--delete-config', 'producer_byte_rate']);
  const after = await describeUser('alice');
  expect(after.stdout).toContain(
    "Quota configs for user-principal 'alice' are consumer_byte_rate=2048.0");
  const bad = await runKafkaTool('configs', ['--bootstrap-server', broker.bootstrap, '--alter',
    '--entity-type', 'users', '--entity-name', 'bob', '--add-config', 'producer_byte_rate=1.5'],
  { timeoutMs: 60_000 });
  expect(bad.code, describeRun(bad)).not.toBe(0);
  expect(bad.stdout + bad.stderr).toContain('producer_byte_rate cannot be a fractional value.');
  // KIP-612's ip entities, as kafka-configs.sh --entity-type ips sets and shows them.
  await configs(['--alter', '--entity-type', 'ips', '--entity-name', '127.0.0.9',
    '--add-config', 'connection_creation_rate=3']);
  const ips = await configs(['--describe', '--entity-type', 'ips']);
  expect(ips.stdout).toContain("Quota configs for ip '127.0.0.9' are connection_creation_rate=3.0");
  // Clean up for the tests below, which set their own quotas.
  const entities: Record<string, string | null>[] = [{ user: 'alice' }, { 'client-id': null },
    { user: 'alice', 'client-id': 'app' }];
  for (const entity of entities) {
    await alterQuotas(admin, entity, { consumer_byte_rate: null, producer_byte_rate: null,
      request_percentage: null });
  }
  await alterQuotas(admin, { ip: '127.0.0.9' }, { connection_creation_rate: null });
}
