/**
 * One client connection: splits the byte stream into size-prefixed frames, dispatches each as it
 * arrives (many in flight at once), and writes responses strictly in request order, as the Kafka
 * protocol requires.
 *
 * Limits: a frame larger than `requestBytesMax` closes the connection before its body is read (as
 * Kafka's `socket.request.max.bytes`); reading stops while more than `inFlightRequestsMax`
 * requests are unanswered, or more than `unsentBytesMax` of responses wait in the socket, so a
 * client that does not read cannot make the broker buffer without bound. Across connections, every
 * byte held for a client is counted in the broker's MemoryBudget: a frame is read only once its
 * whole size fits in it. A Fetch waits until the connection's previous Fetch answer has been handed
 * to the kernel (real clients send one at a time per broker; Kafka answers one request at a time
 * per connection), so pipelined fetches cannot build answers faster than the client takes them.
 *
 * On a SASL listener, until the connection has authenticated: one request at a time, none larger
 * than securityLimits.unauthenticatedFrameBytesMax, and after a SaslHandshake v0 the frames are
 * bare SASL tokens, answered as bare tokens.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { API_SPECS } from '../../protocol/generated/api-keys.js';
import { FRAME_SIZE_BYTES } from '../../protocol/frame.js';
import { CloseConnection, type Dispatcher, type RequestInfo } from './dispatch.js';
import type { Metrics } from '../metrics.js';
import type { MemoryBudget } from './memory-budget.js';
import {
  type ConnectionSession, type KafkaPrincipal, ANONYMOUS, DEFAULT_LISTENER_NAME,
} from '../security/principal.js';
import type { SaslAuthenticator } from '../security/sasl-authenticator.js';
import { securityLimits } from '../limits.js';

export interface ConnectionLimits {
  requestBytesMax: number;
  inFlightRequestsMax: number;
  unsentBytesMax: number;
  idleMs: number;
}

/** Who a new connection is before it says anything, and how it authenticates. */
export interface ConnectionSecurity {
  listenerName: string;
  /** ANONYMOUS, or the principal of a verified TLS client certificate. */
  principal: KafkaPrincipal;
  /** Builds the connection's SASL exchange on SASL listeners; null elsewhere. */
  sasl: ((session: ConnectionSession) => SaslAuthenticator) | null;
}

const PLAINTEXT_SECURITY: ConnectionSecurity = {
  listenerName: DEFAULT_LISTENER_NAME, principal: ANONYMOUS, sasl: null,
};

interface ResponseSlot {
  done: boolean;
  result: Buffer[] | null | CloseConnection;
  /** A Fetch: the connection's next Fetch waits until this answer is in the kernel. */
  fetch: boolean;
}

const FETCH_API_KEY = 1;

export class Connection {
  private readonly chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly slots: ResponseSlot[] = [];
  private inFlight = 0;
  private closed = false;
  private socketPaused = false;
  /** Set on shutdown: never resume reading. */
  private shuttingDown = false;
  /** Re-entrancy guard: frames are taken by one loop at a time. */
  private extracting = false;
  /** Request bytes this connection holds in the budget: the admitted frame and requests in hand. */
  private requestBytes = 0;
  /** Answer bytes it holds: answers not yet handed to the kernel. */
  private answerBytes = 0;
  /** Buffered bytes beyond the admitted frame: loose in the budget (at most about one socket read). */
  private looseBytes = 0;
  /** Size (with its prefix) of the frame at the head of the buffer, once admitted; 0 before. */
  private admittedFrameBytes = 0;
  /** The next frame did not fit in the budget: reading waits for bytes to be released. */
  private waitingForRoom = false;
  /** A Fetch is being answered or its answer is not yet in the kernel. */
  private fetchOutstanding = false;
  /** The next frame is a Fetch waiting for fetchOutstanding to clear. */
  private waitingForFetch = false;
  /** Muted after a request put the client over a quota (KIP-219): reading waits for this. */
  private throttleTimer: NodeJS.Timeout | null = null;
  private throttledUntilMs = 0;
  /** The socket is corked until the current tick's callbacks end (see corkForThisTick). */
  private corked = false;
  private readonly onRoom = (): void => {
    this.waitingForRoom = false;
    this.updateReading();
  };
  readonly remote: string;
  /** Who is connected (its principal changes when it authenticates) and through which listener. */
  readonly session: ConnectionSession;
  private readonly sasl: SaslAuthenticator | null;

  constructor(
    private readonly socket: Socket,
    private readonly dispatcher: Dispatcher,
    private readonly limits: ConnectionLimits,
    private readonly budget: MemoryBudget,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly onClose: (c: Connection) => void,
    security: ConnectionSecurity = PLAINTEXT_SECURITY,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.session = { principal: security.principal, listenerName: security.listenerName,
      clientHost: `/${socket.remoteAddress ?? 'unknown'}` };
    this.sasl = security.sasl?.(this.session) ?? null;
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
    this.applyPause();
  }

  get idle(): boolean {
    return this.inFlight === 0 && this.slots.length === 0;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.throttleTimer !== null) clearTimeout(this.throttleTimer);
    this.log.debug({ remote: this.remote, reason }, 'connection closed');
    this.socket.destroy();
    // Everything this connection held goes back at once; later releases of it are ignored.
    this.budget.forget(this.onRoom);
    this.budget.releaseRequest(this.requestBytes);
    this.budget.releaseAnswer(this.answerBytes);
    this.budget.addLoose(-this.looseBytes);
    this.requestBytes = 0;
    this.answerBytes = 0;
    this.looseBytes = 0;
    this.onClose(this);
  }

  private onData(chunk: Buffer): void {
    this.metrics.bytesIn.inc(chunk.length);
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    this.syncLoose();
    this.extractFrames();
  }

  /** Reading waits: too many requests unanswered, too much unsent, no room, a Fetch queued. */
  private blocked(): boolean {
    return this.shuttingDown || this.waitingForRoom || this.waitingForFetch
      || this.throttleTimer !== null
      || this.inFlight >= this.limits.inFlightRequestsMax
      || (this.inFlight > 0 && this.unauthenticated)
      || this.socket.writableLength > this.limits.unsentBytesMax;
  }

  private extractFrames(): void {
    if (this.extracting) return;
    this.extracting = true;
    try {
      // Frames already buffered wait too while reading is blocked, so the in-flight bound holds.
      while (!this.closed && !this.blocked() && this.bufferedBytes >= FRAME_SIZE_BYTES) {
        const size = this.peekSize();
        const sizeMax = this.unauthenticated
          ? Math.min(this.limits.requestBytesMax, securityLimits.unauthenticatedFrameBytesMax)
          : this.limits.requestBytesMax;
        if (size < 0 || size > sizeMax) {
          this.log.warn({ remote: this.remote, size, limit: sizeMax },
            'request size outside limits; closing connection');
          if (this.unauthenticated) this.sasl!.report(`frame of ${size} bytes before ` +
            `authentication`, 'none');
          this.close('request too large');
          return;
        }
        const total = FRAME_SIZE_BYTES + size;
        if (this.admittedFrameBytes === 0 && !this.admit(total)) {
          this.waitingForRoom = true;
          this.budget.waitForRoom(this.onRoom);
          break;
        }
        if (this.bufferedBytes < total) break; // the rest of an admitted frame: keep reading
        if (this.fetchOutstanding && this.peekApiKey() === FETCH_API_KEY) {
          this.waitingForFetch = true;
          break;
        }
        const frame = this.take(total).subarray(FRAME_SIZE_BYTES);
        // The frame's reservation passes from the read buffer to the request.
        this.admittedFrameBytes = 0;
        this.syncLoose();
        this.handleFrame(frame, total);
      }
    } finally {
      this.extracting = false;
    }
    this.applyPause();
  }

  /** A SASL listener's connection that has not authenticated yet. */
  private get unauthenticated(): boolean {
    return this.sasl !== null && !this.sasl.authenticated;
  }

  /** Reserves room for a whole frame of `total` bytes before it is read further. */
  private admit(total: number): boolean {
    if (!this.budget.tryReserveRequest(total)) return false;
    this.requestBytes += total;
    this.admittedFrameBytes = total;
    this.syncLoose();
    return true;
  }

  private syncLoose(): void {
    if (this.closed) return;
    const loose = Math.max(0, this.bufferedBytes - this.admittedFrameBytes);
    this.budget.addLoose(loose - this.looseBytes);
    this.looseBytes = loose;
  }

  // After close everything was released at once: later releases of this connection are ignored.

  private releaseRequest(bytes: number): void {
    if (this.closed) return;
    this.requestBytes -= bytes;
    this.budget.releaseRequest(bytes);
  }

  private holdAnswer(bytes: number): void {
    if (this.closed) return;
    this.answerBytes += bytes;
    this.budget.addAnswer(bytes);
  }

  private releaseAnswer(bytes: number): void {
    if (this.closed) return;
    this.answerBytes -= bytes;
    this.budget.releaseAnswer(bytes);
  }

  private applyPause(): void {
    if (this.closed) return;
    const pause = this.blocked();
    if (pause === this.socketPaused) return;
    this.socketPaused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= FRAME_SIZE_BYTES) return first.readInt32BE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.bufferedBytes, 16));
    return head.readInt32BE(0);
  }

  /** The API key of the buffered frame at the head (its header's first field). */
  private peekApiKey(): number {
    const first = this.chunks[0]!;
    if (first.length >= FRAME_SIZE_BYTES + 2) return first.readInt16BE(FRAME_SIZE_BYTES);
    return Buffer.concat(this.chunks, Math.min(this.bufferedBytes, 16)).readInt16BE(FRAME_SIZE_BYTES);
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

  private handleFrame(frame: Buffer, frameBytes: number): void {
    const fetch = frame.length >= 2 && frame.readInt16BE(0) === FETCH_API_KEY;
    if (fetch) this.fetchOutstanding = true;
    const slot: ResponseSlot = { done: false, result: null, fetch };
    this.slots.push(slot);
    this.inFlight++;
    const startNs = process.hrtime.bigint();
    let info: RequestInfo | undefined;
    const work = this.sasl?.expectsRawToken === true ? this.rawToken(this.sasl, frame)
      : this.dispatcher.dispatch(frame, this.session, (i) => { info = i; },
        { sasl: this.sasl ?? undefined, onThrottle: (throttleMs) => this.throttle(throttleMs) });
    work.then(
      (result) => this.complete(slot, result, frameBytes, info, startNs),
      (err: unknown) => {
        this.log.error({ err }, 'dispatch failed');
        this.complete(slot, new CloseConnection('dispatch failed'), frameBytes, info, startNs);
      },
    );
  }

  /** A bare SASL token after SaslHandshake v0: answered by a bare token, or the connection closes.
   * */
  private async rawToken(sasl: SaslAuthenticator,
    token: Buffer): Promise<Buffer[] | CloseConnection> {
    const challenge = await sasl.rawToken(token);
    if (challenge === null) return new CloseConnection('authentication failed');
    const size = Buffer.allocUnsafe(FRAME_SIZE_BYTES);
    size.writeInt32BE(challenge.length, 0);
    return [size, challenge];
  }

  private complete(slot: ResponseSlot, result: ResponseSlot['result'], frameBytes: number,
    info: RequestInfo | undefined, startNs: bigint): void {
    slot.done = true;
    slot.result = result;
    this.inFlight--;
    // The request's bytes are released; the answer's are held until the kernel has them.
    this.releaseRequest(frameBytes);
    if (Array.isArray(result)) this.holdAnswer(result.reduce((n, c) => n + c.length, 0));
    if (info !== undefined) {
      const api = API_SPECS.get(info.apiKey)?.name ?? String(info.apiKey);
      const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
      this.metrics.requestLatency.observeKeyed(api, { api }, seconds);
      if (result instanceof CloseConnection) {
        this.metrics.requests.add(`${api} closed`, { api, outcome: 'closed' });
      } else {
        this.metrics.requests.add(api, { api, outcome: 'ok' });
      }
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
        if (result.finalAnswer === null) {
          this.close(result.reason);
          continue;
        }
        // Answer, then close: nothing more is read meanwhile.
        this.shuttingDown = true;
        this.applyPause();
        const answer = Buffer.concat(result.finalAnswer);
        this.metrics.bytesOut.inc(answer.length);
        this.socket.write(answer, () => this.close(result.reason));
        continue;
      }
      if (result === null || result.length === 0) {
        if (slot.fetch) this.fetchAnswered();
        continue;
      }
      this.corkForThisTick();
      result.forEach((chunk, i) => {
        const last = i === result.length - 1;
        this.socket.write(chunk, () => {
          this.releaseAnswer(chunk.length);
          if (last && slot.fetch) this.fetchAnswered();
        });
        this.metrics.bytesOut.inc(chunk.length);
      });
    }
  }

  /**
   * Holds writes until the promise callbacks now running are done, then hands them to the kernel
   * in one writev. One WAL sync acknowledges every Produce it covers in the same round of
   * callbacks, so a client with several requests in flight gets their answers in one system call
   * instead of one each (a write cost ~50 µs of the event loop on 1-partition produce). The
   * nextTick runs after the microtasks queued so far, before any I/O is polled.
   */
  private corkForThisTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  /**
   * Reads nothing more for `throttleMs` (Kafka mutes a throttled channel): the answer that says
   * so still goes out, and a client that ignores throttle_time_ms waits all the same. Requests
   * already in flight are answered; an overlapping throttle extends the mute, never shortens it.
   */
  private throttle(throttleMs: number): void {
    if (this.closed) return;
    const untilMs = Date.now() + throttleMs;
    if (untilMs <= this.throttledUntilMs) return;
    this.throttledUntilMs = untilMs;
    if (this.throttleTimer !== null) clearTimeout(this.throttleTimer);
    this.throttleTimer = setTimeout(() => {
      this.throttleTimer = null;
      this.updateReading();
    }, throttleMs);
    this.applyPause();
  }

  /** The outstanding Fetch's answer is in the kernel: a queued Fetch may go. */
  private fetchAnswered(): void {
    this.fetchOutstanding = false;
    if (this.waitingForFetch) {
      this.waitingForFetch = false;
      this.updateReading();
    }
  }

  /** Reads on when nothing blocks it (taking frames already buffered first), else pauses. */
  private updateReading(): void {
    if (this.closed) return;
    this.extractFrames();
  }
}
