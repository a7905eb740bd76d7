/**
 * How handlers ask the authorizer: one call per (operation, resource), and every denial one
 * structured log line (principal, client address, listener, API, resource, operation; the audit
 * side of issue 10 item 6) and one count in ledgerstream_authorization_denials_total. Filters
 * that only narrow a listing (Metadata of all topics, ListGroups) ask with `quiet`: Kafka does
 * not log those either.
 */
import { ErrorCode } from '../../protocol/generated/errors.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/acl.js';
import { authorizedOperations as operationsOf } from '../security/authorizer.js';
import { principalString } from '../security/principal.js';
import type { RequestContext } from './handler.js';

const operationNames = new Map<number, string>(
  Object.entries(AclOperation).map(([name, code]) => [code, name]));
const resourceTypeNames = new Map<number, string>(
  Object.entries(ResourceType).map(([name, code]) => [code, name]));

export function authorize(ctx: RequestContext, operation: number, resourceType: number,
  resourceName: string, quiet = false): boolean {
  if (ctx.services.authorizer.authorize(ctx, operation, resourceType, resourceName)) return true;
  if (!quiet) logDenial(ctx, operation, resourceType, resourceName);
  return false;
}

/** The names of `names` the requester may do `operation` on (each asked once). */
export function authorizedNames(ctx: RequestContext, operation: number, resourceType: number,
  names: Iterable<string>, quiet = false): Set<string> {
  const allowed = new Set<string>();
  for (const name of new Set(names)) {
    if (authorize(ctx, operation, resourceType, name, quiet)) allowed.add(name);
  }
  return allowed;
}

/** Kafka's authorized-operations bit field of the resource for the requester. */
export function authorizedOperations(ctx: RequestContext, resourceType: number,
  resourceName: string): number {
  return operationsOf(ctx.services.authorizer, ctx, resourceType, resourceName);
}

/** May the requester create topic `name`: CREATE on the cluster (asked quietly, as Kafka does)
 *  or on the topic. */
export function mayCreateTopic(ctx: RequestContext, name: string): boolean {
  return authorize(ctx, AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_NAME, true)
    || authorize(ctx, AclOperation.CREATE, ResourceType.TOPIC, name);
}

/** DescribeConfigs/AlterConfigs resource types (ConfigResource.Type codes). */
const CONFIG_TOPIC = 2;
const CONFIG_BROKER = 4;
const CONFIG_BROKER_LOGGER = 8;

/** The error for a config resource the requester may not DESCRIBE_CONFIGS / ALTER_CONFIGS
 *  (`operation`), or null: topics are checked on the topic, brokers and their loggers on the
 *  cluster. Other types are left to the handler (it refuses them). */
export function configResourceRefusal(ctx: RequestContext, operation: number, configType: number,
  name: string): number | null {
  if (configType === CONFIG_TOPIC) {
    return authorize(ctx, operation, ResourceType.TOPIC, name) ? null
      : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  }
  if (configType === CONFIG_BROKER || configType === CONFIG_BROKER_LOGGER) {
    return authorize(ctx, operation, ResourceType.CLUSTER, CLUSTER_NAME) ? null
      : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
  }
  return null;
}

function logDenial(ctx: RequestContext, operation: number, resourceType: number,
  resourceName: string): void {
  const op = operationNames.get(operation) ?? String(operation);
  const type = resourceTypeNames.get(resourceType) ?? String(resourceType);
  ctx.services.metrics.authorizationDenials.inc({ api: ctx.api, operation: op,
    resource_type: type });
  ctx.log.info({ authorization: 'denied', principal: principalString(ctx.principal),
    clientHost: ctx.clientHost, listener: ctx.listenerName, api: ctx.api, clientId: ctx.clientId,
    resourceType: type, resource: resourceName, operation: op },
  `authorization denied: ${principalString(ctx.principal)} ${op} ${type}:${resourceName} `
    + `(${ctx.api})`);
}

/** May the requester WRITE transactional id `id` (AddPartitionsToTxn v0-3, AddOffsetsToTxn,
 *  EndTxn, TxnOffsetCommit, a transactional Produce; else
 *  TRANSACTIONAL_ID_AUTHORIZATION_FAILED). */
export function mayWriteTransactionalId(ctx: RequestContext, id: string): boolean {
  return authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, id);
}

/** Kafka's check for requests only brokers send (AddPartitionsToTxn v4+): CLUSTER_ACTION on the
 *  cluster (else CLUSTER_AUTHORIZATION_FAILED). */
export function mayActAsBroker(ctx: RequestContext): boolean {
  return authorize(ctx, AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME);
}
