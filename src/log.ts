/**
 * Structured logs with pino, to stderr so stdout stays free for a supervisor's use.
 *
 * Two forms of the same lines: `pretty` (a coloured line per event: time, level, message, fields)
 * for a person at a terminal, and `json` (one object per line, level as a word, ISO-8601 time)
 * for log collectors. `auto` picks pretty when stderr is a terminal.
 */
import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

export type LogFormat = 'auto' | 'json' | 'pretty';

export function createLogger(level: string, nodeId: number, format: LogFormat = 'auto'): Logger {
  const options = { level, base: { node: nodeId } };
  if (format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true)) {
    // Synchronous, like pino.destination(2) below: a line logged just before a crash is not lost.
    return pino(options, pinoPretty({ destination: 2, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true }));
  }
  return pino({ ...options, timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) } }, pino.destination(2));
}
