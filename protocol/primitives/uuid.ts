/**
 * Kafka UUIDs on the wire are 16 raw bytes; in memory we keep them as the base64url string that
 * Kafka's own `Uuid.toString()` prints, so values compare with === and match what Kafka tools show.
 */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export function uuidFromBytes(buf: Buffer, offset: number): string {
  return buf.toString('base64url', offset, offset + 16);
}

/** Writes a base64url UUID as 16 bytes; returns false if the string is not a valid UUID. */
export function uuidToBytes(uuid: string, out: Buffer, offset: number): boolean {
  if (uuid.length !== 22) return false;
  const bytes = Buffer.from(uuid, 'base64url');
  if (bytes.length !== 16 || bytes.toString('base64url') !== uuid) return false;
  bytes.copy(out, offset);
  return true;
}

export function isUuid(value: string): boolean {
  return uuidToBytes(value, Buffer.allocUnsafe(16), 0);
}

/** Shared empty byte string used as the default of `bytes` fields; never written into. */
export const EMPTY_BYTES: Buffer = Buffer.alloc(0);
