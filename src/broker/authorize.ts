/**
 * How handlers ask the authorizer: one call per (operation, resource), and every denial one
 * structured log line (principal, client address, listener, API, resource, operation; the audit
 * side of issue 10 item 6) and one count in ledgerstream_authorization_denials_total. Filters
 * that only narrow a listing (Metadata of all topics, ListGroups) ask with `quiet`: Kafka does
 * not log those either.
 */
import { AclOperation, ResourceType } from '../security/acl.js';
import { authorizedOperations as operationsOf } from '../security/authorizer.js';
import { principalString } from '../security/principal.js';
import type { RequestContext } from './handler.js';

const operationNames = new Map<number, string>(Object.entries(AclOperation).map(([name, code]) => [code, name]));
const resourceTypeNames = new Map<number, string>(Object.entries(ResourceType).map(([name, code]) => [code, name]));

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

function logDenial(ctx: RequestContext, operation: number, resourceType: number,
  resourceName: string): void {
  const op = operationNames.get(operation) ?? String(operation);
  const type = resourceTypeNames.get(resourceType) ?? String(resourceType);
  ctx.services.metrics.authorizationDenials.inc({ api: ctx.api, operation: op,
    resource_type: type });
  ctx.log.info({ authorization: 'denied', principal: principalString(ctx.principal),
    clientHost: ctx.clientHost, listener: ctx.listenerName, api: ctx.api, clientId: ctx.clientId,
    resourceType: type, resource: resourceName, operation: op },
  `authorization denied: ${principalString(ctx.principal)} ${op} ${type}:${resourceName} (${ctx.api})`);
}
