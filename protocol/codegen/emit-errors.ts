/**
 * Emits the error-code table from errors.tsv (columns: code, name, retriable, message).
 */
import { readFileSync } from 'node:fs';

export function emitErrors(tsvPath: string): string[] {
  const rows = readFileSync(tsvPath, 'utf8').split('\n').slice(1).filter((l) => l.trim() !== '');
  const entries = rows.map((line) => {
    const [code, name, retriable, message] = line.split('\t');
    if (code === undefined || name === undefined || retriable === undefined) {
      throw new Error(`errors.tsv: bad row "${line}"`);
    }
    return { code: Number(code), name, retriable: retriable === 'true', message: message ?? '' };
  });
  const lines = ['export const ErrorCode = {'];
  for (const e of entries) lines.push(`  ${e.name}: ${e.code},`);
  lines.push('} as const;', '', 'export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];', '');
  lines.push('export interface ErrorInfo {', '  code: number;', '  name: string;');
  lines.push('  retriable: boolean;', '  message: string;', '}', '');
  lines.push('export const ERROR_INFO: ReadonlyMap<number, ErrorInfo> = new Map([');
  for (const e of entries) {
    lines.push(`  [${e.code}, { code: ${e.code}, name: '${e.name}', retriable: ${e.retriable}, message: ${JSON.stringify(e.message)} }],`);
  }
  lines.push(']);', '');
  lines.push('export function errorName(code: number): string {');
  lines.push('  return ERROR_INFO.get(code)?.name ?? `UNKNOWN_ERROR_CODE_${code}`;', '}', '');
  return lines;
}
