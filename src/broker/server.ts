/**
 * The TCP listener: accepts connections, tracks them, and drains them on shutdown (stop
 * accepting, stop reading, wait for in-flight requests to be answered, close).
 */
import { type Server, type Socket, createServer } from 'node:net';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/config.js';
import type { Metrics } from '../metrics.js';
import { Connection, type ConnectionLimits } from './connection.js';
import type { Dispatcher } from './dispatch.js';
import type { MemoryBudget } from './memory-budget.js';
import { adminLimits } from '../limits.js';


export class BrokerServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly limits: ConnectionLimits;

  constructor(
    private readonly dispatcher: Dispatcher,
    config: BrokerConfig,
    private readonly budget: MemoryBudget,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.limits = {
      requestBytesMax: config.requestBytesMax,
      inFlightRequestsMax: config.inFlightRequestsMax,
      unsentBytesMax: config.unsentBytesMax,
      idleMs: config.connectionsMaxIdleMs,
    };
    this.server = createServer((socket) => this.accept(socket));
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

  private accept(socket: Socket): void {
    const connection = new Connection(socket, this.dispatcher, this.limits, this.budget, this.metrics, this.log,
      (c) => {
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
