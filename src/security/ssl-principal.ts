/**
 * Kafka's `ssl.principal.mapping.rules` (SslPrincipalMapper): a comma-separated list of
 * `RULE:pattern/replacement/[L|U]` and `DEFAULT`, tried in order against the certificate
 * subject in RFC 2253 form ("CN=alice,OU=eng,O=corp"). The first rule whose pattern matches the
 * whole subject gives the principal name (replacement with $1…, then lower or upper case);
 * DEFAULT gives the subject itself. No rule matching is an authentication failure, as in Kafka.
 */
import { X509Certificate } from 'node:crypto';

interface MappingRule {
  /** null: DEFAULT. */
  pattern: RegExp | null;
  replacement: string;
  caseChange: '' | 'L' | 'U';
}

export class PrincipalMappingError extends Error {}

const RULE = /^RULE:((?:\\\/|[^/])*)\/((?:\\\/|[^/])*)\/([LU]?)$/;

/** Splits on the commas between rules (a pattern may itself contain commas). */
function splitRules(text: string): string[] {
  const rules: string[] = [];
  const starts = [...text.matchAll(/(?:^|,)\s*(RULE:|DEFAULT)/g)];
  starts.forEach((m, i) => {
    const begin = m.index + m[0].indexOf(m[1]!);
    const end = i + 1 < starts.length ? starts[i + 1]!.index : text.length;
    rules.push(text.slice(begin, end).trim());
  });
  return rules;
}

export function parseMappingRules(text: string): MappingRule[] {
  const trimmed = text.trim();
  if (trimmed === '') return [{ pattern: null, replacement: '', caseChange: '' }];
  const parts = splitRules(trimmed);
  if (parts.length === 0 || parts.join('').replace(/\s|,/g, '') !== trimmed.replace(/\s|,/g, '')) {
    throw new PrincipalMappingError(`"${text}" is not a list of RULE:pattern/replacement/[LU] ` +
      `and DEFAULT`);
  }
  return parts.map((part) => {
    if (part === 'DEFAULT') return { pattern: null, replacement: '', caseChange: '' };
    const m = RULE.exec(part);
    if (m === null) throw new PrincipalMappingError(`"${part}" is not ` +
      `RULE:pattern/replacement/[LU]`);
    let pattern: RegExp;
    try {
      pattern = new RegExp(`^(?:${m[1]!.replace(/\\\//g, '/')})$`);
    } catch (err) {
      throw new PrincipalMappingError(`bad pattern in "${part}": ${(err as Error).message}`);
    }
    return { pattern, replacement: m[2]!.replace(/\\\//g, '/'), caseChange: m[3] as '' | 'L' | 'U' };
  });
}

/** The principal name for a subject; throws PrincipalMappingError when no rule applies. */
export function mapSubject(rules: readonly MappingRule[], subject: string): string {
  for (const rule of rules) {
    if (rule.pattern === null) return subject;
    if (!rule.pattern.test(subject)) continue;
    const name = subject.replace(rule.pattern, rule.replacement);
    return rule.caseChange === 'L' ? name.toLowerCase() : rule.caseChange === 'U' ?
      name.toUpperCase() : name;
  }
  throw new PrincipalMappingError(`no ssl.principal.mapping.rules rule matches "${subject}"`);
}

/** A certificate's subject as Java's X500Principal.getName() writes it: most specific first. */
export function rfc2253Subject(cert: X509Certificate): string {
  return cert.subject.split('\n').filter((s) => s !== '').reverse().join(',');
}
