/**
 * The TCP listener: accepts connections, tracks them, and drains them on shutdown (stop
 * accepting, stop reading, wait for in-flight requests to be answered, close).
 */
import { type Server, type Socket, createServer } from 'node:net';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/config.js';
import type { Metrics } from '../metrics.js';
import { Connection, type ConnectionLimits as ConnectionSettings } from './connection.js';
import type { Dispatcher } from './dispatch.js';
import type { MemoryBudget } from './memory-budget.js';
import { adminLimits, quotaLimits } from '../limits.js';
import {
  ConnectionLimits, normalizeAddress, parseConnectionOverrides,
} from '../quota/connection-limits.js';
import type { RateWindow } from '../quota/windowed-rate.js';


export class BrokerServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly limits: ConnectionSettings;
  private readonly connectionLimits: ConnectionLimits;
  /** Accepted connections waiting out the creation rate, served in order (Kafka's acceptor). */
  private acceptQueue: Promise<void> = Promise.resolve();
  private waitingToBeServed = 0;

  constructor(
    private readonly dispatcher: Dispatcher,
    config: BrokerConfig,
    private readonly budget: MemoryBudget,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    quotaWindow: RateWindow,
  ) {
    this.limits = {
      requestBytesMax: config.requestBytesMax,
      inFlightRequestsMax: config.inFlightRequestsMax,
      unsentBytesMax: config.unsentBytesMax,
      idleMs: config.connectionsMaxIdleMs,
    };
    this.connectionLimits = new ConnectionLimits({ maxConnections: config.maxConnections,
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      maxConnectionsPerIpOverrides:
        parseConnectionOverrides(config.maxConnectionsPerIpOverrides).overrides,
      maxConnectionCreationRate: config.maxConnectionCreationRate, window: quotaWindow });
    this.server = createServer((socket) => this.onConnection(socket));
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Serves a new connection at once, or after the creation rate's wait, in arrival order. */
  private onConnection(socket: Socket): void {
    socket.on('error', (err) => this.log.debug({ err }, 'socket error before serving'));
    if (!this.connectionLimits.rateLimited) {
      this.accept(socket);
      return;
    }
    if (this.waitingToBeServed >= quotaLimits.connectionsWaitingMax) {
      this.refuse(socket, 'connections waiting out max.connection.creation.rate',
        quotaLimits.connectionsWaitingMax, 'max.connection.creation.rate');
      return;
    }
    this.waitingToBeServed++;
    this.acceptQueue = this.acceptQueue.then(async () => {
      const delayMs = this.connectionLimits.creationDelayMs(Date.now());
      if (delayMs > 0) {
        this.log.info({ remote: socket.remoteAddress, delayMs },
          'connection creation rate over max.connection.creation.rate; serving it after a wait');
        await new Promise((r) => setTimeout(r, delayMs));
      }
      this.waitingToBeServed--;
      if (!socket.destroyed) this.accept(socket);
    });
  }

  private refuse(socket: Socket, what: string, max: number, setting: string): void {
    this.log.warn({ remote: socket.remoteAddress, max, setting },
      `rejected connection from ${socket.remoteAddress ?? '?'}: ${what} already at ${max}`);
    this.metrics.connectionsRefused.inc({ limit: setting });
    socket.destroy();
  }

  private accept(socket: Socket): void {
    const address = normalizeAddress(socket.remoteAddress ?? '');
    const refusal = this.connectionLimits.admit(address);
    if (refusal !== null) {
      this.refuse(socket, refusal.setting === 'max.connections' ? 'open connections'
        : 'connections from this address', refusal.max, refusal.setting);
      return;
    }
    const connection = new Connection(socket, this.dispatcher, this.limits, this.budget, this.metrics, this.log,
      (c) => {
        this.connectionLimits.release(address);
        this.connections.delete(c);
        this.metrics.connections.set(this.connections.size);
      });
    this.connections.add(connection);
    this.metrics.connections.set(this.connections.size);
  }

  /** Stops accepting and reading; waits (bounded) for in-flight requests; closes everything. */
  async drain(timeoutMs: number): Promise<void> {
    this.server.close();
    for (const c of this.connections) c.stopReading();
    const deadline = Date.now() + timeoutMs;
    while ([...this.connections].some((c) => !c.idle) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, adminLimits.drainPollMs));
    }
    for (const c of this.connections) c.close('broker shutting down');
  }
}
