/**
 * SaslHandshake: v0-1.
 * Behavior: SASL is not supported, so every mechanism is refused with UNSUPPORTED_SASL_MECHANISM
 * and an empty list of enabled mechanisms: a client configured for SASL fails at once with a clear
 * error instead of hanging or sending credentials nobody checks.
 * Version notes: v0 would be followed by raw SASL tokens and v1 by SaslAuthenticate; neither
 * happens after this refusal.
 * Not implemented: SASL itself (PLAIN, SCRAM, OAUTHBEARER, GSSAPI) and SaslAuthenticate (36).
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
  handle(ctx, req) {
    ctx.log.info({ mechanism: req.mechanism, clientId: ctx.clientId }, 'SASL is not supported');
    return { ...defaultSaslHandshakeResponse(), errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: [] };
  },
});
