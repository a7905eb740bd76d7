/**
 * A bare TCP client for tests that must send what no real client would: garbage, oversized
 * frames, wrong CRCs, unknown APIs. Reads whole response frames; reports when the broker closes.
 */
import { type Socket, connect } from 'node:net';
import { decodeResponseFrame, encodeRequestFrame } from '../../protocol/frame.js';
import { Reader } from '../../protocol/primitives/reader.js';
import type { Writer } from '../../protocol/primitives/writer.js';

export class RawClient {
  private buffered = Buffer.alloc(0);
  private closedFlag = false;
  private waiters: (() => void)[] = [];
  private correlationId = 1;

  private constructor(private readonly socket: Socket, private readonly clientId: string) {
    socket.on('data', (b: Buffer) => { this.buffered = Buffer.concat([this.buffered, b]); this.wake(); });
    socket.on('close', () => { this.closedFlag = true; this.wake(); });
    socket.on('error', () => {});
  }

  /** `clientId` goes in every request header; `localAddress` picks the source address (any of
   *  127.0.0.0/8 reaches a broker on 127.0.0.1, so tests can be several clients' addresses). */
  static connect(port: number, options: { clientId?: string; localAddress?: string } = {}):
    Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) },
      () => resolve(new RawClient(socket, options.clientId ?? 'raw-client')));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends a request encoded with our generated codecs; returns its correlation id. */
  send(apiKey: number, version: number, encodeBody: (w: Writer) => void): number {
    const id = this.correlationId++;
    this.write(encodeRequestFrame(apiKey, version, id, this.clientId, encodeBody));
    return id;
  }

  /** The next response frame (without size prefix), or null if the broker closed first. */
  async readFrame(timeoutMs = 10_000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length >= 4 + size) {
          const frame = this.buffered.subarray(4, 4 + size);
          this.buffered = this.buffered.subarray(4 + size);
          return frame;
        }
      }
      if (this.closedFlag) return null;
      if (Date.now() > deadline) throw new Error('timed out waiting for a response frame');
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }

  /** Waits until the broker closes the connection; false if it stays open past the timeout. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closedFlag && Date.now() < deadline) {
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
    return this.closedFlag;
  }

  /** Stops reading the socket, as a client that does not read its answers; resume() reads on. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Reader over a response body, after the header of the given version. */
export function responseBody(frame: Buffer, headerVersion: number): Reader {
  const r = new Reader(frame);
  r.int32(); // correlation id
  if (headerVersion >= 1) r.tagCount() === 0 || r.fail('unexpected header tags');
  return r;
}

/** Sends one request with `client` and decodes its response with the generated codec. */
export async function callRaw<Res>(client: RawClient, apiKey: number, version: number,
  encode: (w: Writer) => void, decode: (r: Reader, v: number) => Res): Promise<Res> {
  client.send(apiKey, version, encode);
  return decode(decodeResponseFrame(apiKey, version, (await client.readFrame())!).body, version);
}
