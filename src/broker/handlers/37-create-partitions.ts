/**
 * CreatePartitions: v0-3.
 * Behavior: raises a topic's partition count; the new partitions start empty, led where the
 * placement puts them (a single node: itself; a cluster: the controller's placement), and every
 * broker's view follows through the etcd watch.
 * A count not above the current one, or above partitionsPerTopicMax → INVALID_PARTITIONS (with
 * Kafka's messages); unknown topic → UNKNOWN_TOPIC_OR_PARTITION; a topic named twice →
 * INVALID_REQUEST; validateOnly checks only. The partitions gauge follows.
 * Assignments, when given, are checked as Kafka does (one per new partition, none empty, no broker
 * twice, every broker registered, else INVALID_REPLICA_ASSIGNMENT); the first broker of each
 * leads the new partition (Kafka's preferred leader).
 * Version notes: v2+ is the flexible encoding; v3 is v2.
 * Not implemented: replicas beyond the first (durability comes from object storage), so the
 * replication-factor consistency check is skipped.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type CreatePartitionsRequestCreatePartitionsTopic as TopicIn, decodeCreatePartitionsRequest,
  defaultCreatePartitionsResponse, encodeCreatePartitionsResponse,
  defaultCreatePartitionsResponseCreatePartitionsTopicResult as defaultResult,
} from '../../../protocol/generated/messages/create-partitions.js';
import { UnknownTopicError } from '../../metadata/records.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';
import { checkReplicaAssignment } from '../topic-admin.js';
import { adminLimits } from '../../limits.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';

const { INVALID_PARTITIONS, INVALID_REPLICA_ASSIGNMENT, UNKNOWN_TOPIC_OR_PARTITION: UNKNOWN_TOPIC } = ErrorCode;
type Outcome = { errorCode: number; errorMessage: string | null };
const fail = (errorCode: number, errorMessage: string): Outcome => ({ errorCode, errorMessage });

/** The leaders the assignments name (undefined without assignments), or Kafka's error. */
function checkAssignments(s: BrokerServices, t: TopicIn, added: number):
  number[] | undefined | Outcome {
  if (t.assignments === null) return undefined;
  if (t.assignments.length !== added) {
    return fail(INVALID_REPLICA_ASSIGNMENT, `Attempted to add ${added} additional partition(s), ` +
      `but only ${t.assignments.length} assignment(s) were specified.`);
  }
  const check = checkReplicaAssignment(s, t.assignments.map((a) => a.brokerIds));
  if (check.errorCode !== ErrorCode.NONE) return fail(check.errorCode, check.message!);
  return t.assignments.map((a) => a.brokerIds[0]!);
}

async function raise(s: BrokerServices, t: TopicIn, validateOnly: boolean): Promise<Outcome> {
  const { name, count } = t;
  const current = s.partitions.topic(name)?.logs.length;
  if (current === undefined) return fail(UNKNOWN_TOPIC, `The topic '${name}' does not exist.`);
  if (count <= current) {
    return fail(INVALID_PARTITIONS, count === current ? `Topic already has ${current} partitions.`
      : `Topic currently has ${current} partitions, which is higher than the requested ${count}.`);
  }
  if (count > adminLimits.partitionsPerTopicMax) {
    return fail(INVALID_PARTITIONS,
      `partition count must be at most ${adminLimits.partitionsPerTopicMax}`);
  }
  const assignment = checkAssignments(s, t, count - current);
  if (typeof assignment === 'object' && !Array.isArray(assignment)) return assignment;
  if (validateOnly) return { errorCode: ErrorCode.NONE, errorMessage: null };
  try {
    await s.partitions.createPartitions(name, count, assignment);
  } catch (err) {
    if (!(err instanceof UnknownTopicError)) throw err;
    return fail(UNKNOWN_TOPIC, `The topic '${name}' does not exist.`); // deleted meanwhile
  }
  s.metrics.partitions.set(s.partitions.partitionCount);
  return { errorCode: ErrorCode.NONE, errorMessage: null };
}

export const handler = defineHandler({
  apiKey: 37,
  name: 'CreatePartitions',
  minVersion: 0,
  maxVersion: 3,
  decodeRequest: decodeCreatePartitionsRequest,
  encodeResponse: encodeCreatePartitionsResponse,
  errorResponse: (req, _version, errorCode) => ({ ...defaultCreatePartitionsResponse(),
    results: req.topics.map((t) => ({ ...defaultResult(), name: t.name, errorCode })) }),
  async handle(ctx, req) {
    const res = defaultCreatePartitionsResponse();
    const names = req.topics.map((t) => t.name);
    for (const t of req.topics) {
      const duplicate = names.indexOf(t.name) !== names.lastIndexOf(t.name);
      const outcome = duplicate ? fail(ErrorCode.INVALID_REQUEST, 'Duplicate topic in request.')
        : !authorize(ctx, AclOperation.ALTER, ResourceType.TOPIC, t.name)
          ? fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'The topic authorization is failed.')
          : await raise(ctx.services, t, req.validateOnly);
      res.results.push({ ...defaultResult(), name: t.name, ...outcome });
    }
    return res;
  },
});
