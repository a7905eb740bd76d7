/**
 * A connection to one Kafka listener that sends requests one at a time and decodes each answer
 * with the broker's own codec: plain TCP, or TLS when the listener uses it. Requests travel in
 * order and the next is sent only after the previous answer, so one pending answer at a time is
 * all the state there is. Used by `requestBroker` (broker-request.ts), which first lets the
 * inter-broker security log in over the same channel (SaslHandshake, SaslAuthenticate).
 */
import assert from 'node:assert/strict';
import { type Socket, connect as connectTcp } from 'node:net';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';
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

interface Pending {
  req: BrokerRequest<unknown>;
  correlationId: number;
  resolve(res: unknown): void;
  reject(err: BrokerRequestError): void;
}

/** Requests one channel carries at most: its users send a login and one request. */
const REQUESTS_PER_CHANNEL_MAX = 16;

export class BrokerChannel {
  private received = Buffer.alloc(0);
  private pending: Pending | null = null;
  private nextCorrelationId = 1;
  private failure: BrokerRequestError | null = null;

  private constructor(readonly server: string, private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error & { code?: string }) => this.fail(new BrokerRequestError(
      `${server}: ${err.code ?? err.message}`, err.code !== undefined && !isTlsCode(err.code))));
    socket.on('close', () => this.fail(new BrokerRequestError(
      `${server} closed the connection`, false)));
    socket.setTimeout(0);
  }

  /**
   * Connects to `server` ("host:port"), with TLS when `tls` is given (resolved once the
   * handshake, server certificate checked, is done).
   */
  static open(server: string, tls: ConnectionOptions | null, connectMsMax: number):
    Promise<BrokerChannel> {
    const colon = server.lastIndexOf(':');
    const host = server.slice(0, colon);
    const port = Number(server.slice(colon + 1));
    assert.ok(colon > 0 && Number.isInteger(port), `"${server}" is host:port`);
    return new Promise((resolve, reject) => {
      const socket: Socket = tls === null ? connectTcp({ host, port })
        : connectTls({ ...tls, host, port });
      const refuse = (err: BrokerRequestError) => {
        socket.destroy();
        reject(err);
      };
      socket.setTimeout(connectMsMax, () => refuse(new BrokerRequestError(
        `${server}: no connection in time`, true)));
      socket.once('error', (err: Error & { code?: string }) => refuse(new BrokerRequestError(
        `${server}: ${err.code ?? ''} ${err.message}`.trim(),
        err.code !== undefined && !isTlsCode(err.code))));
      socket.once(tls === null ? 'connect' : 'secureConnect', () => {
        socket.removeAllListeners('error');
        socket.removeAllListeners('timeout');
        resolve(new BrokerChannel(server, socket));
      });
    });
  }

  /** Sends `req` and resolves with its decoded answer; one request at a time. */
  request<Res>(req: BrokerRequest<Res>): Promise<Res> {
    assert.equal(this.pending, null, 'one request at a time');
    assert.ok(this.nextCorrelationId <= REQUESTS_PER_CHANNEL_MAX, 'requests per channel');
    if (this.failure !== null) return Promise.reject(this.failure);
    const correlationId = this.nextCorrelationId++;
    return new Promise<Res>((resolve, reject) => {
      this.pending = { req, correlationId, resolve: resolve as (res: unknown) => void, reject };
      this.socket.setTimeout(req.answerMsMax, () => this.fail(new BrokerRequestError(
        `${this.server}: no ${req.name} answer in time`, true)));
      this.socket.write(encodeRequestFrame(req.apiKey, req.version, correlationId, req.clientId,
        req.encode));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.received = Buffer.concat([this.received, chunk]);
    const p = this.pending;
    if (p === null || this.received.length < FRAME_SIZE_BYTES) return;
    const size = this.received.readInt32BE(0);
    if (size < 0 || size > p.req.answerBytesMax) {
      this.fail(new BrokerRequestError(
        `${this.server} answered with something other than Kafka's protocol`, false));
      return;
    }
    if (this.received.length < FRAME_SIZE_BYTES + size) return;
    const frame = this.received.subarray(FRAME_SIZE_BYTES, FRAME_SIZE_BYTES + size);
    this.received = this.received.subarray(FRAME_SIZE_BYTES + size);
    this.pending = null;
    this.socket.setTimeout(0);
    try {
      p.resolve(decodeAnswer(p, frame));
    } catch (err) {
      const why = `its ${p.req.name} answer did not decode: ${(err as Error).message}`;
      this.fail(new BrokerRequestError(`${this.server}: ${why}`, false), p);
    }
  }

  /** Fails the pending request (or `p`) and every later one; closes the socket. */
  private fail(err: BrokerRequestError, p: Pending | null = this.pending): void {
    this.failure ??= err;
    this.pending = null;
    this.socket.destroy();
    p?.reject(err);
  }
}

function decodeAnswer(p: Pending, frame: Buffer): unknown {
  const { correlationId, body } = decodeResponseFrame(p.req.apiKey, p.req.version, frame);
  if (correlationId !== p.correlationId) {
    body.fail(`correlation id ${correlationId}, expected ${p.correlationId}`);
  }
  return p.req.decode(body);
}

/** TLS failures (a certificate the truststore does not vouch for, a wrong host name) are not a
 *  peer being down: they are reported as refusals, with the reason. */
function isTlsCode(code: string): boolean {
  return code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT')
    || code === 'DEPTH_ZERO_SELF_SIGNED_CERTIFICATE';
}
