/**
 * SaslAuthenticate: v0-2.
 * Behavior: hands the client's token to the connection's SASL exchange (PLAIN, SCRAM-SHA-256,
 * SCRAM-SHA-512, OAUTHBEARER) and answers its challenge. A failure answers
 * SASL_AUTHENTICATION_FAILED with Kafka's message after connection.failed.authentication.delay.ms,
 * then closes the connection; before a SaslHandshake (or on a listener without SASL) it answers
 * ILLEGAL_SASL_STATE and closes.
 * Version notes: v1+ carry the session lifetime (connections.max.reauth.ms, or the token's
 * expiry if sooner; 0 = unlimited) after which the client re-authenticates (KIP-368).
 * Not implemented: delegation tokens (SCRAM's tokenauth extension is refused).
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeSaslAuthenticateRequest, defaultSaslAuthenticateResponse, encodeSaslAuthenticateResponse,
} from '../../../protocol/generated/messages/sasl-authenticate.js';
import { defineHandler, topLevelError } from '../handler.js';

export const handler = defineHandler({
  apiKey: 36,
  name: 'SaslAuthenticate',
  minVersion: 0,
  maxVersion: 2,
  decodeRequest: decodeSaslAuthenticateRequest,
  encodeResponse: encodeSaslAuthenticateResponse,
  errorResponse: topLevelError(defaultSaslAuthenticateResponse),
  async handle(ctx, req, version) {
    if (ctx.sasl === undefined) {
      return { ...defaultSaslAuthenticateResponse(), errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: `listener ${ctx.listenerName} does not use SASL` };
    }
    const answer = await ctx.sasl.authenticate(req.authBytes, version);
    return { ...defaultSaslAuthenticateResponse(), ...answer,
      sessionLifetimeMs: BigInt(answer.sessionLifetimeMs) };
  },
});
