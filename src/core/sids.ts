/**
 * Room identifiers (parity 4.9): 32 random bytes, base64url-encoded, with the
 * look-alike characters `1 I l O 0 _ -` removed, cut to 7 characters. The
 * bytes come from the caller, so this stays pure.
 */
export const SID_LENGTH = 7;
const LOOKALIKES = /[1IlO0_-]/g;
const SID_PATTERN = /^[A-HJ-NP-Za-km-z2-9]{7}$/;

/** Returns the sid for these bytes, or null in the (vanishingly rare) case that too few characters survive. */
export function sidFromBytes(bytes: Uint8Array): string | null {
  const text = Buffer.from(bytes).toString('base64url').replace(LOOKALIKES, '');
  return text.length >= SID_LENGTH ? text.slice(0, SID_LENGTH) : null;
}

/** True when `value` has the shape of a room sid. */
export function isSid(value: string): boolean {
  return SID_PATTERN.test(value);
}
