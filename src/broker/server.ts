/**
 * The listeners: one server socket per listener (`listeners`; by default one PLAINTEXT on
 * host:port), TLS on SSL and SASL_SSL ones. Accepts connections within the connection limits
 * (max.connections, max.connections.per.ip, max.connection.creation.rate), tracks them, and
 * drains them on shutdown (stop accepting, stop reading, wait for in-flight requests to be
 * answered, close). A TLS handshake that fails (garbage, plaintext sent to a TLS port, a refused
 * client certificate) is an authentication failure: one log line and a metric, as in Kafka.
 */
import { type Server, type Socket, createServer } from 'node:net';
import { type Server as TlsServer, createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/config.js';
import type { Metrics } from '../metrics.js';
import {
  Connection, type ConnectionLimits as ConnectionSettings, type ConnectionSecurity,
} from './connection.js';
import type { Dispatcher } from './dispatch.js';
import type { MemoryBudget } from './memory-budget.js';
import { adminLimits, quotaLimits } from '../limits.js';
import type { IpConnectionRates } from '../quota/ip-connection-rates.js';
import {
  ConnectionLimits, normalizeAddress, parseConnectionOverrides,
} from '../quota/connection-limits.js';
import type { RateWindow } from '../quota/windowed-rate.js';
import { type ListenerSpec, usesTls } from '../security/listeners.js';
import type { ListenerSecurity } from '../security/listener-security.js';
import { ANONYMOUS } from '../security/principal.js';

/** Reports a connection refused before its first request (TLS handshake, client certificate). */
export type RefusedConnection = (listener: ListenerSpec, clientHost: string, reason: string) =>
  void;

interface OpenListener { spec: ListenerSpec; server: Server | TlsServer; port: number }

export class BrokerServer {
  private readonly open: OpenListener[] = [];
  private readonly connections = new Set<Connection>();
  private readonly limits: ConnectionSettings;
  private readonly connectionLimits: ConnectionLimits;
  /** Accepted connections waiting out the creation rate, served in order (Kafka's acceptor). */
  private acceptQueue: Promise<void> = Promise.resolve();
  private waitingToBeServed = 0;
  /** Connections held unserved until their ip connection_creation_rate throttle ends. */
  private held = 0;

  constructor(
    private readonly dispatcher: Dispatcher,
    config: BrokerConfig,
    private readonly budget: MemoryBudget,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    quotaWindow: RateWindow,
    private readonly security: ListenerSecurity | null = null,
    private readonly onRefused: RefusedConnection = () => {},
    private readonly ipRates: IpConnectionRates | null = null,
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
  }

  /** The first listener's bound port. */
  get port(): number {
    return this.open[0]?.port ?? 0;
  }

  /** Every listener's bound port, by listener name. */
  ports(): Map<string, number> {
    return new Map(this.open.map((l) => [l.spec.name, l.port]));
  }

  async listen(listeners: readonly ListenerSpec[]): Promise<void> {
    for (const spec of listeners) {
      const server = this.serverFor(spec);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: spec.host, port: spec.port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address();
      this.open.push({ spec, server, port: typeof address === 'object' && address !== null ?
        address.port : 0 });
    }
    this.security?.watchTlsFiles((options) => {
      for (const l of this.open) {
        if (usesTls(l.spec.protocol)) (l.server as TlsServer).setSecureContext(options);
      }
    });
  }

  private serverFor(spec: ListenerSpec): Server | TlsServer {
    if (!usesTls(spec.protocol)) return createServer((socket) => this.onConnection(spec, socket));
    const options = this.security?.tlsOptions;
    if (options === null ||
      options === undefined) throw new Error(`listener ${spec.name} needs TLS settings`);
    const server = createTlsServer(options, (socket) => this.onConnection(spec, socket));
    server.on('tlsClientError', (err, socket) => {
      this.onRefused(spec, `/${socket.remoteAddress ?? 'unknown'}`,
        `TLS handshake failed: ${err.message}`);
      socket.destroy();
    });
    return server;
  }

  /** Serves a new connection at once, or after the creation rate's wait, in arrival order. */
  private onConnection(spec: ListenerSpec, socket: Socket): void {
    socket.on('error', (err) => this.log.debug({ err }, 'socket error before serving'));
    if (!this.connectionLimits.rateLimited) {
      this.accept(spec, socket);
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
      if (!socket.destroyed) this.accept(spec, socket);
    });
  }

  private refuse(socket: Socket, what: string, max: number, setting: string): void {
    this.log.warn({ remote: socket.remoteAddress, max, setting },
      `rejected connection from ${socket.remoteAddress ?? '?'}: ${what} already at ${max}`);
    this.metrics.connectionsRefused.inc({ limit: setting });
    socket.destroy();
  }

  private accept(spec: ListenerSpec, socket: Socket): void {
    const address = normalizeAddress(socket.remoteAddress ?? '');
    const throttleMs = this.ipRates?.throttleMs(address, Date.now()) ?? 0;
    if (throttleMs > 0) {
      this.holdThenClose(socket, address, throttleMs);
      return;
    }
    const refusal = this.connectionLimits.admit(address);
    if (refusal !== null) {
      this.refuse(socket, refusal.setting === 'max.connections' ? 'open connections'
        : 'connections from this address', refusal.max, refusal.setting);
      return;
    }
    const security: ConnectionSecurity | string = this.security === null
      ? { listenerName: spec.name, principal: ANONYMOUS, sasl: null }
      : this.security.forConnection(spec, socket);
    if (typeof security === 'string') {
      this.connectionLimits.release(address);
      this.onRefused(spec, `/${socket.remoteAddress ?? 'unknown'}`, security);
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const connection = new Connection(socket, this.dispatcher, this.limits, this.budget,
      this.metrics, this.log,
      (c) => {
        this.connectionLimits.release(address);
        this.connections.delete(c);
        this.countConnections(spec.name, -1);
      }, security);
    this.connections.add(connection);
    this.countConnections(spec.name, 1);
  }

  /** A connection over its address's connection_creation_rate: held unserved, then closed
   *  (Kafka's delayed close of a throttled socket); past connectionsWaitingMax, closed at once. */
  private holdThenClose(socket: Socket, address: string, throttleMs: number): void {
    this.connectionLimits.takeBackCreation(Date.now());
    this.metrics.connectionsRefused.inc({ limit: 'connection_creation_rate' });
    this.log.info({ remote: address, throttleMs },
      'connection over its ip connection_creation_rate quota: closed unserved after throttleMs');
    if (this.held >= quotaLimits.connectionsWaitingMax) {
      socket.destroy();
      return;
    }
    this.held++;
    setTimeout(() => {
      this.held--;
      socket.destroy();
    }, throttleMs).unref();
  }

  private countConnections(listener: string, delta: number): void {
    this.metrics.connections.set(this.connections.size);
    this.metrics.listenerConnections.inc({ listener }, delta);
  }

  /** Stops accepting and reading; waits (bounded) for in-flight requests; closes everything. */
  async drain(timeoutMs: number): Promise<void> {
    for (const l of this.open) l.server.close();
    this.security?.stop();
    for (const c of this.connections) c.stopReading();
    const deadline = Date.now() + timeoutMs;
    while ([...this.connections].some((c) => !c.idle) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, adminLimits.drainPollMs));
    }
    for (const c of this.connections) c.close('broker shutting down');
  }
}
