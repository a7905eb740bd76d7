/**
 * The classic consumer group APIs, in key order, for handlers/index.ts to merge into the
 * registry.
 */
import type { ApiHandler } from '../handler.js';
import { handler as offsetCommit } from './08-offset-commit.js';
import { handler as offsetFetch } from './09-offset-fetch.js';
import { handler as findCoordinator } from './10-find-coordinator.js';
import { handler as joinGroup } from './11-join-group.js';
import { handler as heartbeat } from './12-heartbeat.js';
import { handler as leaveGroup } from './13-leave-group.js';
import { handler as syncGroup } from './14-sync-group.js';
import { handler as describeGroups } from './15-describe-groups.js';
import { handler as listGroups } from './16-list-groups.js';
import { handler as deleteGroups } from './42-delete-groups.js';
import { handler as offsetDelete } from './47-offset-delete.js';

export const groupHandlers: readonly ApiHandler[] = [
  offsetCommit, offsetFetch, findCoordinator, joinGroup, heartbeat, leaveGroup, syncGroup,
  describeGroups, listGroups, deleteGroups, offsetDelete,
];
