/**
 * Maps what the AWS SDK throws to ObjectStoreError, so no SDK type leaks past s3.ts.
 * The SDK has already retried what it considers transient by the time an error lands here.
 */
import { ObjectStoreError, type ObjectStoreErrorCode, type ObjectStoreOp } from './object-store.js';

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown; attempts?: unknown };
}

function shapeOf(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

export function httpStatusOf(error: unknown): number | undefined {
  const status = shapeOf(error).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** How many attempts the SDK made for the call that threw `error` (1 if it did not say). */
export function attemptsOf(error: unknown): number {
  const attempts = shapeOf(error).$metadata?.attempts;
  return typeof attempts === 'number' && attempts >= 1 ? attempts : 1;
}

export function errorNameOf(error: unknown): string {
  const name = shapeOf(error).name;
  return typeof name === 'string' ? name : '';
}

/** S3's "no such key" comes as NoSuchKey from GET and as a bare 404 NotFound from HEAD. */
export function isNoSuchKey(error: unknown): boolean {
  const name = errorNameOf(error);
  if (name === 'NoSuchKey' || name === 'NotFound') return true;
  return httpStatusOf(error) === 404 && name !== 'NoSuchBucket';
}

function codeFor(error: unknown): ObjectStoreErrorCode {
  const name = errorNameOf(error);
  const errno = shapeOf(error).code;
  if (name === 'TimeoutError' || name === 'AbortError' || errno === 'ETIMEDOUT') return 'Timeout';
  const status = httpStatusOf(error);
  if (status === 416 || name === 'InvalidRange') return 'RangeNotSatisfiable';
  if (isNoSuchKey(error)) return 'NotFound';
  // 409 ConditionalRequestConflict: a concurrent conditional write; trying again will settle it.
  if (status === undefined || status >= 500 || status === 429 || status === 409)
    return 'Unavailable';
  if (name === 'SlowDown' || name === 'ThrottlingException') return 'Unavailable';
  return 'Rejected';
}

export function mapS3Error(op: ObjectStoreOp, key: string, error: unknown): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const code = codeFor(error);
  const status = httpStatusOf(error);
  const message = shapeOf(error).message;
  const detail =
    `${errorNameOf(error) || 'Error'}` +
    (status === undefined ? '' : ` (HTTP ${status})`) +
    `: ${typeof message === 'string' ? message : String(error)}` +
    ` after ${attemptsOf(error)} attempt(s)`;
  return new ObjectStoreError(code, op, key, detail, { cause: error });
}
