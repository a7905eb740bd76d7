/**
 * SaslHandshake: v0-1.
 * Behavior: on a SASL_PLAINTEXT or SASL_SSL listener, picks the mechanism for the connection's
 * authenticator (src/security/sasl-authenticator.ts) and lists the enabled ones
 * (`sasl.enabled.mechanisms`); a mechanism not enabled gets UNSUPPORTED_SASL_MECHANISM and the
 * connection closes after the answer, as in Kafka. After authentication a handshake starts
 * re-authentication (KIP-368). On a PLAINTEXT or SSL listener every mechanism is refused with
 * UNSUPPORTED_SASL_MECHANISM and an empty list, so a client configured for SASL fails at once.
 * Version notes: v0 is followed by unframed SASL tokens (the connection reads them), v1 by
 * SaslAuthenticate.
 * Not implemented: GSSAPI (Kerberos).
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeSaslHandshakeRequest, defaultSaslHandshakeResponse, encodeSaslHandshakeResponse,
} from '../../../protocol/generated/messages/sasl-handshake.js';
import { defineHandler, topLevelError } from '../handler.js';

export const handler = defineHandler({
  apiKey: 17,
  name: 'SaslHandshake',
  minVersion: 0,
  maxVersion: 1,
  decodeRequest: decodeSaslHandshakeRequest,
  encodeResponse: encodeSaslHandshakeResponse,
  errorResponse: topLevelError(defaultSaslHandshakeResponse),
  async handle(ctx, req, version) {
    if (ctx.sasl === undefined) {
      ctx.log.info({ mechanism: req.mechanism, clientId: ctx.clientId, listener: ctx.listenerName },
        'SASL handshake on a listener without SASL');
      return { ...defaultSaslHandshakeResponse(), errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
        mechanisms: [] };
    }
    const answer = await ctx.sasl.handshake(req.mechanism, version);
    return { ...defaultSaslHandshakeResponse(), ...answer };
  },
});
