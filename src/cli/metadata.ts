/**
 * One Metadata request over a connection of its own, encoded and decoded with the broker's own
 * codec, for `cluster status`. kafkajs cannot serve it: it refuses a whole Metadata answer when
 * one partition has an error (LEADER_NOT_AVAILABLE while a dead broker's partitions move), which is
 * when an operator most needs to see which partitions have no leader.
 */
import { ApiKey } from '../../protocol/generated/api-keys.js';
import { type MetadataResponse, decodeMetadataResponse, defaultMetadataRequest, encodeMetadataRequest }
  from '../../protocol/generated/messages/metadata.js';
import { BrokerRequestError, requestBroker } from '../cluster/broker-request.js';

/** v9 (Kafka 2.4+): cluster id, controller, and a version Kafka 4 still answers (it dropped v0-v3). */
const METADATA_VERSION = 9;
const CONNECT_MS_MAX = 3000;
const ANSWER_MS_MAX = 30_000;
/** Far above any cluster's Metadata; a larger size means the port is not a Kafka listener. */
const ANSWER_BYTES_MAX = 64 * 1024 * 1024;

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
  const request = { ...defaultMetadataRequest(), topics: null, allowAutoTopicCreation: false };
  return requestBroker(server, { apiKey: ApiKey.Metadata, version: METADATA_VERSION,
    clientId: 'ledgerstream-cli', name: 'Metadata',
    encode: (w) => encodeMetadataRequest(w, METADATA_VERSION, request),
    decode: (r) => decodeMetadataResponse(r, METADATA_VERSION),
    connectMsMax: CONNECT_MS_MAX, answerMsMax: ANSWER_MS_MAX, answerBytesMax: ANSWER_BYTES_MAX,
  }).catch((err: unknown) => {
    if (err instanceof BrokerRequestError) throw new MetadataUnavailable(err.message, err.unreachable);
    throw err;
  });
}
