/**
 * Structured logs with pino, to stderr so stdout stays free for a supervisor's use.
 */
import { pino, type Logger } from 'pino';

export function createLogger(level: string, nodeId: number): Logger {
  return pino({ level, base: { node: nodeId } }, pino.destination(2));
}
