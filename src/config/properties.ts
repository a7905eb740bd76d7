/**
 * Java `.properties` files (Kafka's server.properties): `key=value`, `key: value` or
 * `key value`; `#` and `!` comments; a trailing backslash continues a line; `\\t \\n \\uXXXX`
 * escapes. Keys are returned as written; config.ts maps Kafka's names to ours.
 */

const LINES_MAX = 100_000;

function unescape(text: string): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_m, e: string) => {
    if (e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    return e === 't' ? '\t' : e === 'n' ? '\n' : e === 'r' ? '\r' : e === 'f' ? '\f' : e;
  });
}

/** Logical lines: comments and blanks dropped, continuations joined. */
function logicalLines(text: string): string[] {
  const physical = text.split(/\r\n|\r|\n/);
  if (physical.length > LINES_MAX) throw new Error(`more than ${LINES_MAX} lines`);
  const out: string[] = [];
  let pending = '';
  for (const raw of physical) {
    const line = pending === '' ? raw.trimStart() : raw.trimStart();
    if (pending === '' && (line === '' || line.startsWith('#') || line.startsWith('!'))) continue;
    const trailing = /\\+$/.exec(line)?.[0].length ?? 0;
    if (trailing % 2 === 1) {
      pending += line.slice(0, -1);
      continue;
    }
    out.push(pending + line);
    pending = '';
  }
  if (pending !== '') out.push(pending);
  return out;
}

export function parseProperties(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const line of logicalLines(text)) {
    const m = /^((?:\\.|[^\\:=\s])+)\s*(?:[:=]\s*|\s+|$)(.*)$/.exec(line);
    if (m === null) throw new Error(`cannot parse line "${line}"`);
    result[unescape(m[1]!)] = unescape(m[2]!);
  }
  return result;
}
