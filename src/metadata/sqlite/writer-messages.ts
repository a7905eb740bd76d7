/**
 * What the event loop and the SQLite writer thread (writer-thread.ts) say to each other, and how
 * an error crosses between them. Structured cloning keeps an Error's message but not its class,
 * so a FencedError would arrive as a plain Error and `instanceof` in the callers would stop
 * matching: errors travel as their class name and primitive fields and are rebuilt here, as the
 * same classes, for the callers.
 */
import { AssertionError } from 'node:assert';
import Database from 'better-sqlite3';
import {
  FencedError, TopicExistsError, TransactionConflictError, UnknownTopicError,
} from '../records.js';
import { IndexContinuityError } from '../rules.js';

/** The writer thread's start-up data. */
export interface WriterThreadData {
  filePath: string;
  writesPerTransactionMax: number;
}

export interface WriteRequest {
  kind: 'write';
  id: number;
  name: string;
  args: unknown[];
  /** The caller's clock when it asked (rows that record a time take it from here). */
  nowMs: number;
}

/** Sent after every write asked before it: the thread closes its connection and ends. */
export interface CloseRequest { kind: 'close' }

export type ToWriterThread = WriteRequest | CloseRequest;

export type WriteReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError };

export type FromWriterThread =
  | { kind: 'replies'; replies: WriteReply[] }
  | { kind: 'closed' };

type Field = string | number | boolean | null;

export interface SerializedError {
  className: string;
  name: string;
  message: string;
  stack: string | undefined;
  /** The error's own fields that are primitives (FencedError's epochs, SqliteError's code). */
  fields: Record<string, Field>;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** The classes callers tell apart; anything else arrives as an Error with the same name. */
const errorClasses = new Map<string, ErrorClass>([
  FencedError, TopicExistsError, UnknownTopicError, TransactionConflictError,
  IndexContinuityError, Database.SqliteError, AssertionError, RangeError, TypeError,
].map((c) => [c.name, c]));

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) {
    return { className: 'Error', name: 'Error', message: String(error), stack: undefined,
      fields: {} };
  }
  const fields: Record<string, Field> = {};
  for (const [key, value] of Object.entries(error)) {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
      fields[key] = value as Field;
    }
  }
  return { className: error.constructor.name, name: error.name, message: error.message,
    stack: error.stack, fields };
}

/** The error again, of its class when it is one callers tell apart, without running its
 *  constructor (whose arguments did not travel). */
export function reviveError(s: SerializedError): Error {
  const errorClass = errorClasses.get(s.className) ?? Error;
  const error = Object.create(errorClass.prototype) as Error;
  Object.assign(error, s.fields);
  Object.defineProperty(error, 'message', { value: s.message, writable: true,
    configurable: true });
  if (error.name !== s.name) {
    Object.defineProperty(error, 'name', { value: s.name, writable: true, configurable: true });
  }
  const stack = `${s.stack ?? s.message}\n    at (SQLite writer thread)`;
  Object.defineProperty(error, 'stack', { value: stack, writable: true, configurable: true });
  return error;
}
