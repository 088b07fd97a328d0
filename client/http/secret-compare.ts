/** Compares secrets without leaking, through timing, how much of a guess was right. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Fixed-length digest: timingSafeEqual needs equal lengths, and hashing first hides the secret's length too. */
export function secretDigest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function secretsMatch(given: string, expected: string): boolean {
  return timingSafeEqual(secretDigest(given), secretDigest(expected));
}
