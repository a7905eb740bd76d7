/**
 * The audit trail: one log line per administrative change (topics created, deleted or grown,
 * configs altered, records deleted, groups or their offsets deleted, offsets reset by a tool),
 * naming who asked (principal, client id, address), what was asked, and what failed. Operators
 * read it to answer "who deleted this topic"; it is a plain log line (`"audit":true`) so that it
 * goes wherever the logs go.
 *
 * What was asked is the decoded request, bounded in size; what failed is every non-zero error
 * code in the response, by name. Both are generic so that an API added later needs one line here.
 */
import type { Logger } from 'pino';
import { errorName } from '../../protocol/generated/errors.js';
import { ApiKey } from '../../protocol/generated/api-keys.js';
import { adminLimits } from '../limits.js';
import { type KafkaPrincipal, principalString } from '../security/principal.js';

/** Admin APIs whose every call changes state (or tries to). */
const AUDITED = new Set<number>([
  ApiKey.CreateTopics, ApiKey.DeleteTopics, ApiKey.DeleteRecords, ApiKey.CreateAcls, ApiKey.DeleteAcls,
  ApiKey.AlterConfigs, ApiKey.CreatePartitions, ApiKey.DeleteGroups, ApiKey.IncrementalAlterConfigs,
  ApiKey.OffsetDelete, ApiKey.AlterUserScramCredentials,
]);

/** Request fields never written to a log: secrets, and what derives them. */
const REDACTED = new Set(['saltedPassword', 'salt', 'authBytes']);


export interface AuditSource {
  clientId: string | null;
  clientHost: string;
  principal: KafkaPrincipal;
  listenerName: string;
}

/**
 * True for calls that change state: the admin APIs, and an OffsetCommit outside any group
 * generation (generation -1, no member id), which is how kafka-consumer-groups.sh --reset-offsets
 * and admin clients write offsets.
 */
export function isAudited(apiKey: number, request: unknown): boolean {
  if (AUDITED.has(apiKey)) return true;
  if (apiKey !== ApiKey.OffsetCommit) return false;
  const r = request as { generationIdOrMemberEpoch?: number; memberId?: string };
  return r.generationIdOrMemberEpoch === -1 && r.memberId === '';
}

function summarize(request: unknown): string {
  const text = JSON.stringify(request, (key, value: unknown) => (REDACTED.has(key) ? '[redacted]'
    : typeof value === 'bigint' ? Number(value) : value));
  const charsMax = adminLimits.auditRequestCharsMax;
  return text.length <= charsMax ? text : `${text.slice(0, charsMax)}… (${text.length} chars)`;
}

/** Names of the non-zero `errorCode` fields anywhere in a response, with their counts. */
export function responseErrors(response: unknown): string[] {
  const counts = new Map<string, number>();
  const visit = (value: unknown, depth: number) => {
    if (depth > 6 || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
      return;
    }
    for (const [key, field] of Object.entries(value)) {
      if (key === 'errorCode' && typeof field === 'number' && field !== 0) {
        const name = errorName(field);
        counts.set(name, (counts.get(name) ?? 0) + 1);
      } else {
        visit(field, depth + 1);
      }
    }
  };
  visit(response, 0);
  return [...counts].slice(0, adminLimits.auditErrorsMax)
    .map(([name, n]) => (n === 1 ? name : `${name} ×${n}`));
}

export function auditLine(log: Logger, api: string, source: AuditSource, request: unknown, response: unknown): void {
  const errors = responseErrors(response);
  log.info({ audit: true, api, principal: principalString(source.principal), listener: source.listenerName, clientId: source.clientId, clientHost: source.clientHost,
    request: summarize(request), outcome: errors.length === 0 ? 'ok' : errors.join(', ') }, `audit: ${api}`);
}
