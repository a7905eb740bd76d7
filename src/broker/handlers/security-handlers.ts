/**
 * Authentication and credentials APIs (SaslAuthenticate, SCRAM users; SaslHandshake is with the
 * admin APIs), in key order; handlers/index.ts merges them into the registry.
 */
import type { ApiHandler } from '../handler.js';
import { handler as saslAuthenticate } from './36-sasl-authenticate.js';
import { handler as describeUserScramCredentials } from './50-describe-user-scram-credentials.js';
import { handler as alterUserScramCredentials } from './51-alter-user-scram-credentials.js';

export const securityHandlers: readonly ApiHandler[] = [
  saslAuthenticate, describeUserScramCredentials, alterUserScramCredentials,
];
