/**
 * DeleteTopics: v0-6.
 * Behavior: deletes each topic's metadata, segment index and committed offsets in one coordinator
 * transaction, then deletes the objects that no longer hold live data (objects shared with other
 * topics stay until their last live entry goes).
 * Version notes: v6 names topics by name or by id.
 * Not implemented: nothing known.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type DeleteTopicsResponseDeletableTopicResult as Result, decodeDeleteTopicsRequest,
  defaultDeleteTopicsResponse, defaultDeleteTopicsResponseDeletableTopicResult,
  encodeDeleteTopicsResponse,
} from '../../../protocol/generated/messages/delete-topics.js';
import { ZERO_UUID } from '../../../protocol/primitives/uuid.js';
import { defineHandler } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';
import type { RequestContext } from '../handler.js';

async function deleteOne(ctx: RequestContext, name: string | null, topicId: string):
  Promise<Result> {
  const s = ctx.services;
  const result: Result = { ...defaultDeleteTopicsResponseDeletableTopicResult(), name, topicId };
  // By name, DELETE is asked before existence (a missing topic is not disclosed); by id, an
  // unknown id is UNKNOWN_TOPIC_ID and a known one needs DELETE on its name.
  const denied = (topic: string) => !authorize(ctx, AclOperation.DELETE, ResourceType.TOPIC, topic);
  if (name !== null && denied(name)) {
    return { ...result, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
  }
  const entry = name !== null ? s.partitions.topic(name)
    : topicId !== ZERO_UUID ? s.partitions.topicById(topicId) : undefined;
  if (entry !== undefined && name === null && denied(entry.record.name)) {
    return { ...result, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
  }
  if (entry === undefined) {
    const errorCode = name === null ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return { ...result, errorCode };
  }
  s.deleteObjects(await s.partitions.deleteTopic(entry.record.name));
  return { ...result, name: entry.record.name, topicId: entry.record.topicId };
}

export const handler = defineHandler({
  apiKey: 20,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 6,
  decodeRequest: decodeDeleteTopicsRequest,
  encodeResponse: encodeDeleteTopicsResponse,
  // v0-5 name topics in topicNames, v6+ in topics (by name or id).
  errorResponse: (req, _version, errorCode) => ({ ...defaultDeleteTopicsResponse(),
    responses: [...req.topicNames.map((name) => ({ name, topicId: ZERO_UUID })), ...req.topics]
      .map(({ name, topicId }) => ({ ...defaultDeleteTopicsResponseDeletableTopicResult(), name,
        topicId, errorCode })) }),
  async handle(ctx, req, version) {
    const res = defaultDeleteTopicsResponse();
    const targets = version >= 6 ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
      : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    for (const t of targets) {
      const r = await deleteOne(ctx, t.name, t.topicId);
      // Before v6 the response has no topic id; it may not carry one.
      res.responses.push(version >= 6 ? r : { ...r, topicId: ZERO_UUID });
    }
    return res;
  },
});
