/**
 * Every API this broker answers, in key order. An explicit list (no side-effect registration):
 * what is here is what ApiVersions advertises, with each handler's own tested version range.
 */
import type { ApiHandler } from '../handler.js';
import { handler as produce } from './00-produce.js';
import { handler as fetch } from './01-fetch.js';
import { handler as listOffsets } from './02-list-offsets.js';
import { handler as metadata } from './03-metadata.js';
import { handler as apiVersions } from './18-api-versions.js';
import { handler as createTopics } from './19-create-topics.js';
import { handler as deleteTopics } from './20-delete-topics.js';
import { handler as initProducerId } from './22-init-producer-id.js';
import { adminHandlers } from './admin-handlers.js';
import { groupHandlers } from './group-handlers.js';
import { securityHandlers } from './security-handlers.js';
import { txnHandlers } from './txn-handlers.js';

export const HANDLERS: readonly ApiHandler[] = [
  produce, fetch, listOffsets, metadata, apiVersions, createTopics, deleteTopics, initProducerId,
  ...adminHandlers, ...groupHandlers, ...securityHandlers, ...txnHandlers,
].sort((a, b) => a.apiKey - b.apiKey);
