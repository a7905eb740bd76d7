/**
 * One request to a Kafka listener over a connection of its own, encoded and decoded with the
 * broker's own codec: `cluster status`'s Metadata, and a transaction coordinator's markers to
 * another broker (WriteTxnMarkers). One connection per request keeps it simple and stateless;
 * both callers send a handful per second at most.
 */
import { type Socket, connect } from 'node:net';
import { decodeResponseFrame, encodeRequestFrame, FRAME_SIZE_BYTES } from '../../protocol/frame.js';
import type { Reader } from '../../protocol/primitives/reader.js';
import type { Writer } from '../../protocol/primitives/writer.js';

/** Why a server did not answer; `unreachable` when nothing listened or answered in time. */
export class BrokerRequestError extends Error {
  constructor(message: string, readonly unreachable: boolean) {
    super(message);
  }
}

export interface BrokerRequest<Res> {
  apiKey: number;
  version: number;
  clientId: string;
  /** What the API is called in messages ("Metadata"). */
  name: string;
  encode(w: Writer): void;
  decode(r: Reader): Res;
  connectMsMax: number;
  answerMsMax: number;
  /** A larger answer means the port is not a Kafka listener. */
  answerBytesMax: number;
}

const CORRELATION_ID = 1;

/** Sends one request to `server` ("host:port") and resolves with its decoded answer. */
export function requestBroker<Res>(server: string, req: BrokerRequest<Res>): Promise<Res> {
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
    socket.setTimeout(req.connectMsMax, () => finish(() => reject(new BrokerRequestError(
      `${server}: ${connected ? 'no answer' : 'no connection'} in time`, true))));
    socket.once('error', (err: Error & { code?: string }) => finish(() => reject(
      new BrokerRequestError(`${server}: ${err.code ?? err.message}`, true))));
    socket.once('connect', () => {
      connected = true;
      socket.setTimeout(req.answerMsMax);
      socket.write(encodeRequestFrame(req.apiKey, req.version, CORRELATION_ID, req.clientId,
        req.encode));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < FRAME_SIZE_BYTES) return;
      const size = received.readInt32BE(0);
      if (size < 0 || size > req.answerBytesMax) {
        finish(() => reject(new BrokerRequestError(
          `${server} answered with something other than Kafka's protocol`, false)));
      } else if (received.length >= FRAME_SIZE_BYTES + size) {
        finish(() => {
          try {
            resolve(decodeAnswer(req, received.subarray(FRAME_SIZE_BYTES,
              FRAME_SIZE_BYTES + size)));
          } catch (err) {
            const why = `its ${req.name} answer did not decode: ${(err as Error).message}`;
            reject(new BrokerRequestError(`${server}: ${why}`, false));
          }
        });
      }
    });
    socket.once('close', () => finish(() =>
      reject(new BrokerRequestError(`${server} closed the connection`, false))));
  });
}

function decodeAnswer<Res>(req: BrokerRequest<Res>, frame: Buffer): Res {
  const { correlationId, body } = decodeResponseFrame(req.apiKey, req.version, frame);
  if (correlationId !== CORRELATION_ID) {
    body.fail(`correlation id ${correlationId}, expected ${CORRELATION_ID}`);
  }
  return req.decode(body);
}
