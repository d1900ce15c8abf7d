// Reviewer tokens: random, shown once, stored only as a hash, so a copied database gives no one
// the right to decide.
import { createHash, randomBytes } from 'node:crypto';

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newToken(): { token: string; hash: string } {
  const token = randomBytes(24).toString('base64url');
  return { token, hash: tokenHash(token) };
}
