/**
 * One client connection: splits the byte stream into size-prefixed frames, dispatches each as it
 * arrives (many in flight at once), and writes responses strictly in request order, as the Kafka
 * protocol requires.
 *
 * Limits: a frame larger than `requestBytesMax` closes the connection before its body is read (as
 * Kafka's `socket.request.max.bytes`); reading stops while more than `inFlightRequestsMax`
 * requests are unanswered, or more than `unsentBytesMax` of responses wait in the socket, so a
 * client that does not read cannot make the broker buffer without bound.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { API_SPECS } from '../../protocol/generated/api-keys.js';
import { FRAME_SIZE_BYTES } from '../../protocol/frame.js';
import { CloseConnection, type Dispatcher, type RequestInfo } from './dispatch.js';
import type { Metrics } from '../metrics.js';

export interface ConnectionLimits {
  requestBytesMax: number;
  inFlightRequestsMax: number;
  unsentBytesMax: number;
  idleMs: number;
}

interface ResponseSlot {
  done: boolean;
  result: Buffer[] | null | CloseConnection;
}

export class Connection {
  private readonly chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly slots: ResponseSlot[] = [];
  private inFlight = 0;
  private closed = false;
  private readingPaused = false;
  /** Set on shutdown: never resume reading. */
  private shuttingDown = false;
  readonly remote: string;
  /** The client's address as Kafka reports it in group descriptions: "/127.0.0.1", no port. */
  readonly clientHost: string;

  constructor(
    private readonly socket: Socket,
    private readonly dispatcher: Dispatcher,
    private readonly limits: ConnectionLimits,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly onClose: (c: Connection) => void,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.clientHost = `/${socket.remoteAddress ?? 'unknown'}`;
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleMs, () => {
      if (this.inFlight === 0) this.close('idle timeout');
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.updateReading());
    socket.on('error', (err) => this.log.debug({ err, remote: this.remote }, 'socket error'));
    socket.on('close', () => this.close('peer closed'));
  }

  /** Stops reading new requests; the ones in flight are still answered. */
  stopReading(): void {
    this.shuttingDown = true;
    this.socket.pause();
    this.readingPaused = true;
  }

  get idle(): boolean {
    return this.inFlight === 0 && this.slots.length === 0;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.log.debug({ remote: this.remote, reason }, 'connection closed');
    this.socket.destroy();
    this.onClose(this);
  }

  private onData(chunk: Buffer): void {
    this.metrics.bytesIn.inc(chunk.length);
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    this.extractFrames();
  }

  private extractFrames(): void {
    // Frames already buffered wait too while reading is paused, so the in-flight bound holds.
    while (!this.closed && !this.readingPaused && this.bufferedBytes >= FRAME_SIZE_BYTES) {
      const size = this.peekSize();
      if (size < 0 || size > this.limits.requestBytesMax) {
        this.log.warn({ remote: this.remote, size, limit: this.limits.requestBytesMax },
          'request size outside limits; closing connection');
        this.close('request too large');
        return;
      }
      if (this.bufferedBytes < FRAME_SIZE_BYTES + size) return;
      const frame = this.take(FRAME_SIZE_BYTES + size).subarray(FRAME_SIZE_BYTES);
      this.handleFrame(frame);
    }
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= FRAME_SIZE_BYTES) return first.readInt32BE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.bufferedBytes, 16));
    return head.readInt32BE(0);
  }

  /** Removes n bytes from the front of the buffered chunks: a view if one chunk holds them all. */
  private take(n: number): Buffer {
    this.bufferedBytes -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const part = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, part);
      filled += part;
      if (part === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(part);
    }
    return out;
  }

  private handleFrame(frame: Buffer): void {
    const slot: ResponseSlot = { done: false, result: null };
    this.slots.push(slot);
    this.inFlight++;
    this.updateReading();
    const startNs = process.hrtime.bigint();
    let info: RequestInfo | undefined;
    this.dispatcher.dispatch(frame, this.clientHost, (i) => { info = i; }).then(
      (result) => this.complete(slot, result, info, startNs),
      (err: unknown) => {
        this.log.error({ err }, 'dispatch failed');
        this.complete(slot, new CloseConnection('dispatch failed'), info, startNs);
      },
    );
  }

  private complete(slot: ResponseSlot, result: ResponseSlot['result'], info: RequestInfo | undefined,
    startNs: bigint): void {
    slot.done = true;
    slot.result = result;
    this.inFlight--;
    if (info !== undefined) {
      const api = API_SPECS.get(info.apiKey)?.name ?? String(info.apiKey);
      const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
      this.metrics.requestLatency.observe({ api }, seconds);
      this.metrics.requests.inc({ api, outcome: result instanceof CloseConnection ? 'closed' : 'ok' });
    }
    this.writeReadyResponses();
    this.updateReading();
  }

  private writeReadyResponses(): void {
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      if (this.closed) continue;
      const result = slot.result;
      if (result instanceof CloseConnection) {
        this.log.info({ remote: this.remote, reason: result.reason }, 'closing connection');
        this.close(result.reason);
        continue;
      }
      if (result === null) continue;
      this.socket.cork();
      for (const chunk of result) {
        this.socket.write(chunk);
        this.metrics.bytesOut.inc(chunk.length);
      }
      this.socket.uncork();
    }
  }

  /** Pauses reading while too much is in flight or unsent; resumes once both drop. */
  private updateReading(): void {
    if (this.closed) return;
    const overloaded = this.inFlight >= this.limits.inFlightRequestsMax
      || this.socket.writableLength > this.limits.unsentBytesMax;
    if (overloaded && !this.readingPaused) {
      this.socket.pause();
      this.readingPaused = true;
    } else if (!overloaded && this.readingPaused && !this.shuttingDown) {
      this.readingPaused = false;
      this.socket.resume();
      this.extractFrames();
    }
  }
}
