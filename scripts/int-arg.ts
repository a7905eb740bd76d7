/** A whole-number command-line option of the run scripts (chaos.ts, chaos-txn.ts). */
export function intArg(name: string, value: string | undefined, min: number,
  usage: (message: string) => never): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    usage(`--${name} must be an integer >= ${min}, got ${value}`);
  }
  return n;
}
