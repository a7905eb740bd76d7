/**
 * AlterUserScramCredentials: v0.
 * Behavior: kafka-configs.sh --alter --add-config 'SCRAM-SHA-512=[password=…]' --entity-type
 * users. The client sends the salted password; the store keeps StoredKey and ServerKey derived
 * from it (src/security/scram.ts), never the salted password. Checks as Kafka's: an empty user
 * or a wrong-sized salted password UNACCEPTABLE_CREDENTIAL, iterations outside [4096, 16384]
 * UNACCEPTABLE_CREDENTIAL, an unknown mechanism UNSUPPORTED_SASL_MECHANISM, a user in two
 * operations DUPLICATE_RESOURCE, deleting a missing credential RESOURCE_NOT_FOUND. The users
 * without errors are changed together, in one store call.
 * Version notes: only v0 exists.
 * Authorized by ALTER on the cluster, as in Kafka.
 * Not implemented: nothing.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type AlterUserScramCredentialsRequest, decodeAlterUserScramCredentialsRequest,
  defaultAlterUserScramCredentialsResponse, encodeAlterUserScramCredentialsResponse,
} from '../../../protocol/generated/messages/alter-user-scram-credentials.js';
import type { ScramCredential, ScramMechanism } from '../../metadata/records.js';
import { securityLimits } from '../../limits.js';
import { SCRAM_HASHES, credentialOf, scramMechanismOfWireType } from '../../security/scram.js';
import { type RequestContext, defineHandler } from '../handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';

type Refusal = { errorCode: number; errorMessage: string };

interface Operation {
  user: string;
  mechanismType: number;
  upsert?: { iterations: number; salt: Buffer; salted: Buffer };
}

function check(op: Operation, duplicated: boolean): Refusal | ScramMechanism {
  if (op.user === '') return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL,
    errorMessage: 'Username must not be empty' };
  if (duplicated) {
    return { errorCode: ErrorCode.DUPLICATE_RESOURCE,
      errorMessage: 'A user credential cannot be altered twice in the same request' };
  }
  const mechanism = scramMechanismOfWireType(op.mechanismType);
  if (mechanism === null) return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
    errorMessage: 'Unknown SCRAM mechanism' };
  const up = op.upsert;
  if (up === undefined) return mechanism;
  if (up.iterations < securityLimits.scramIterationsMin) {
    return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      errorMessage: `Too few iterations: at least ${securityLimits.scramIterationsMin}` };
  }
  if (up.iterations > securityLimits.scramIterationsMax) {
    return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      errorMessage: `Too many iterations: at most ${securityLimits.scramIterationsMax}` };
  }
  if (up.salted.length !== SCRAM_HASHES[mechanism].keyBytes || up.salt.length === 0) {
    return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      errorMessage: 'Salt or salted password has the wrong size' };
  }
  return mechanism;
}

function operationsOf(req: AlterUserScramCredentialsRequest): Operation[] {
  return [
    ...req.deletions.map((d) => ({ user: d.name, mechanismType: d.mechanism })),
    ...req.upsertions.map((u) => ({ user: u.name, mechanismType: u.mechanism,
      upsert: { iterations: u.iterations, salt: u.salt, salted: u.saltedPassword } })),
  ];
}

async function alter(ctx: RequestContext,
  req: AlterUserScramCredentialsRequest): Promise<Map<string, Refusal | null>> {
  const ops = operationsOf(req);
  const counts = new Map<string, number>();
  for (const op of ops) counts.set(op.user, (counts.get(op.user) ?? 0) + 1);
  const outcome = new Map<string, Refusal | null>();
  const upserts: ScramCredential[] = [];
  const deletions: { user: string; mechanism: ScramMechanism }[] = [];
  const store = ctx.services.metadata.scramCredentials;
  for (const op of ops) {
    const checked = check(op, counts.get(op.user)! > 1);
    if (typeof checked !== 'string') {
      outcome.set(op.user, checked);
    } else if (op.upsert === undefined) {
      const exists = await store.get(op.user, checked) !== null;
      outcome.set(op.user, exists ? null : { errorCode: ErrorCode.RESOURCE_NOT_FOUND,
        errorMessage: 'Attempt to delete a user credential that does not exist' });
      if (exists) deletions.push({ user: op.user, mechanism: checked });
    } else {
      outcome.set(op.user, null);
      upserts.push(credentialOf(op.user, checked, op.upsert.salt, op.upsert.iterations,
        op.upsert.salted));
    }
  }
  if (upserts.length + deletions.length > 0) await store.alter(upserts, deletions);
  return outcome;
}

export const handler = defineHandler({
  apiKey: 51,
  name: 'AlterUserScramCredentials',
  minVersion: 0,
  maxVersion: 0,
  decodeRequest: decodeAlterUserScramCredentialsRequest,
  encodeResponse: encodeAlterUserScramCredentialsResponse,
  errorResponse: (req, _version, errorCode) => ({ ...defaultAlterUserScramCredentialsResponse(),
    results: [...new Set(operationsOf(req).map((o) => o.user))].map((user) =>
      ({ user, errorCode, errorMessage: null, unknownTaggedFields: undefined })) }),
  async handle(ctx, req) {
    // As Kafka: ALTER on the cluster, or every user's change is refused.
    if (!authorize(ctx, AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
      const results = [...new Set(operationsOf(req).map((o) => o.user))].map((user) => ({ user,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null,
        unknownTaggedFields: undefined }));
      return { ...defaultAlterUserScramCredentialsResponse(), results };
    }
    if (req.deletions.length + req.upsertions.length > securityLimits.scramUsersPerRequestMax) {
      const results = [...new Set(operationsOf(req).map((o) => o.user))].map((user) => ({ user,
        errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'too many operations',
          unknownTaggedFields: undefined }));
      return { ...defaultAlterUserScramCredentialsResponse(), results };
    }
    const outcome = await alter(ctx, req);
    const results = [...outcome].map(([user, refusal]) => ({ user, errorCode: refusal?.errorCode ??
      ErrorCode.NONE,
      errorMessage: refusal?.errorMessage ?? null, unknownTaggedFields: undefined }));
    return { ...defaultAlterUserScramCredentialsResponse(), results };
  },
});
