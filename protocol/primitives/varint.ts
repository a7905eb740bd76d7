/**
 * Varint sizes, for encoders that must know a length before writing (record bodies are
 * prefixed by their own varint length).
 */
export function uvarintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

export function zigzag32(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

export function varintSize(value: number): number {
  return uvarintSize(zigzag32(value));
}

export function zigzag64(value: bigint): bigint {
  return BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
}

export function varlongSize(value: bigint): number {
  let u = zigzag64(value);
  let size = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    size++;
  }
  return size;
}
