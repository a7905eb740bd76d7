/**
 * One Metadata request over a connection of its own, encoded and decoded with the broker's own
 * codec, for `cluster status`. kafkajs cannot serve it: it refuses a whole Metadata answer when
 * one partition has an error (LEADER_NOT_AVAILABLE while a dead broker's partitions move), which is
 * when an operator most needs to see which partitions have no leader.
 */
import { type Socket, connect } from 'node:net';
import { decodeResponseFrame, encodeRequestFrame, FRAME_SIZE_BYTES } from '../../protocol/frame.js';
import { ApiKey } from '../../protocol/generated/api-keys.js';
import { type MetadataResponse, decodeMetadataResponse, defaultMetadataRequest, encodeMetadataRequest }
  from '../../protocol/generated/messages/metadata.js';

/** v9 (Kafka 2.4+): cluster id, controller, and a version Kafka 4 still answers (it dropped v0-v3). */
const METADATA_VERSION = 9;
const CONNECT_MS_MAX = 3000;
const ANSWER_MS_MAX = 30_000;
/** Far above any cluster's Metadata; a larger size means the port is not a Kafka listener. */
const ANSWER_BYTES_MAX = 64 * 1024 * 1024;
const CORRELATION_ID = 1;

/** Why a server could not answer; `unreachable` when nothing listened or answered in time. */
export class MetadataUnavailable extends Error {
  constructor(message: string, readonly unreachable: boolean) {
    super(message);
  }
}

/**
 * The first of `servers` ("host:port") to answer gives the cluster's brokers, controller and
 * topics; when none does, the error says why for each (unreachable only if none was reached).
 */
export async function fetchMetadata(servers: readonly string[]): Promise<MetadataResponse> {
  const failures: MetadataUnavailable[] = [];
  for (const server of servers) {
    try {
      return await askOne(server);
    } catch (err) {
      if (!(err instanceof MetadataUnavailable)) throw err;
      failures.push(err);
    }
  }
  throw new MetadataUnavailable(failures.map((f) => f.message).join('; '), failures.every((f) => f.unreachable));
}

function askOne(server: string): Promise<MetadataResponse> {
  const colon = server.lastIndexOf(':');
  const host = server.slice(0, colon);
  const port = Number(server.slice(colon + 1));
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let connected = false;
    const socket: Socket = connect({ host, port });
    const finish = (outcome: () => void) => {
      socket.destroy();
      outcome();
    };
    socket.setTimeout(CONNECT_MS_MAX, () => finish(() => reject(new MetadataUnavailable(
      `${server}: ${connected ? 'no answer' : 'no connection'} in time`, true))));
    socket.once('error', (err: Error & { code?: string }) => finish(() => reject(
      new MetadataUnavailable(`${server}: ${err.code ?? err.message}`, true))));
    socket.once('connect', () => {
      connected = true;
      socket.setTimeout(ANSWER_MS_MAX);
      const request = { ...defaultMetadataRequest(), topics: null, allowAutoTopicCreation: false };
      socket.write(encodeRequestFrame(ApiKey.Metadata, METADATA_VERSION, CORRELATION_ID, 'ledgerstream-cli',
        (w) => encodeMetadataRequest(w, METADATA_VERSION, request)));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < FRAME_SIZE_BYTES) return;
      const size = received.readInt32BE(0);
      if (size < 0 || size > ANSWER_BYTES_MAX) {
        finish(() => reject(new MetadataUnavailable(`${server} answered with something other than Kafka's protocol`, false)));
      } else if (received.length >= FRAME_SIZE_BYTES + size) {
        finish(() => {
          try {
            resolve(decodeAnswer(received.subarray(FRAME_SIZE_BYTES, FRAME_SIZE_BYTES + size)));
          } catch (err) {
            reject(new MetadataUnavailable(`${server}: its Metadata answer did not decode: ${(err as Error).message}`, false));
          }
        });
      }
    });
    socket.once('close', () => finish(() => reject(new MetadataUnavailable(`${server} closed the connection`, false))));
  });
}

function decodeAnswer(frame: Buffer): MetadataResponse {
  const { correlationId, body } = decodeResponseFrame(ApiKey.Metadata, METADATA_VERSION, frame);
  if (correlationId !== CORRELATION_ID) body.fail(`correlation id ${correlationId}, expected ${CORRELATION_ID}`);
  return decodeMetadataResponse(body, METADATA_VERSION);
}
