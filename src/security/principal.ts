/**
 * Who is on the other end of a connection, in Kafka's terms: a principal type and name
 * ("User:alice"), the listener the connection came in on, and the client's address.
 * Authentication (TLS client certificates, SASL) sets the principal; the authorizer, quotas,
 * audit lines and records stamped by the ledger features read it.
 */

export interface KafkaPrincipal {
  /** Kafka's principal type; "User" for every principal Kafka's built-in builders produce. */
  readonly type: string;
  readonly name: string;
}

/** The principal of a connection that has not authenticated (PLAINTEXT, or SSL without a client
 *  certificate), as Kafka names it. */
export const ANONYMOUS: KafkaPrincipal = Object.freeze({ type: 'User', name: 'ANONYMOUS' });

/** The listener name of the single listener a broker has when none are configured. */
export const DEFAULT_LISTENER_NAME = 'PLAINTEXT';

/** "User:alice": the form Kafka's ACLs, `super.users` and audit logs use. */
export function principalString(p: KafkaPrincipal): string {
  return `${p.type}:${p.name}`;
}

/**
 * One connection's identity. `principal` changes when the connection authenticates (and may
 * change again on re-authentication, KIP-368); the rest is fixed when it is accepted.
 */
export interface ConnectionSession {
  principal: KafkaPrincipal;
  readonly listenerName: string;
  /** The client's address as Kafka reports it in group descriptions: "/127.0.0.1", no port. */
  readonly clientHost: string;
}

export function anonymousSession(clientHost: string, listenerName = DEFAULT_LISTENER_NAME): ConnectionSession {
  return { principal: ANONYMOUS, listenerName, clientHost };
}
