/**
 * One request to a Kafka listener over a connection of its own: `cluster status`'s Metadata
 * (plain TCP), and a transaction coordinator's markers to another broker (WriteTxnMarkers),
 * which go through the inter-broker listener with its security: TLS when the listener uses it,
 * and a SASL login first when it uses SASL (Kafka's inter.broker.listener.name). One connection
 * per request keeps it simple and stateless; both callers send a handful per second at most.
 */
import type { ConnectionOptions } from 'node:tls';
import { BrokerChannel, type BrokerRequest, BrokerRequestError } from './broker-channel.js';

export { type BrokerRequest, BrokerRequestError };

/** How this broker reaches its peers (security/inter-broker.ts builds it from the settings). */
export interface InterBrokerSecurity {
  /** The listener of each peer to connect to (by name, from its registration). */
  listenerName: string;
  /** Who the peers see, for messages: "User:admin", or "User:ANONYMOUS". */
  principal: string;
  /** TLS options for the next connection (read afresh: renewed files apply), or null. */
  tls: (() => ConnectionOptions) | null;
  /** Logs in over a new channel before the request (SASL), or null. */
  login: ((channel: BrokerChannel) => Promise<void>) | null;
}

/** What `cluster status` uses: plain TCP, no login. */
export const PLAINTEXT_PEER: InterBrokerSecurity = Object.freeze({
  listenerName: 'PLAINTEXT', principal: 'User:ANONYMOUS', tls: null, login: null });

/** Sends one request to `server` ("host:port") and resolves with its decoded answer. */
export async function requestBroker<Res>(server: string, req: BrokerRequest<Res>,
  security: InterBrokerSecurity = PLAINTEXT_PEER): Promise<Res> {
  let tls: ConnectionOptions | null;
  try {
    tls = security.tls === null ? null : security.tls();
  } catch (err) {
    throw new BrokerRequestError(`TLS settings cannot be loaded: ${(err as Error).message}`,
      false);
  }
  const channel = await BrokerChannel.open(server, tls, req.connectMsMax);
  try {
    if (security.login !== null) await security.login(channel);
    return await channel.request(req);
  } finally {
    channel.close();
  }
}
