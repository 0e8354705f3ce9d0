/**
 * Token fingerprints: the first 16 hex chars of a SHA-256, enough to tie a token's issue to its
 * uses in logs without revealing it. This is the only module that hashes token values.
 *
 * Both sides hash the same bytes:
 * - issue: the response body to PUT /latest/api/token is digested by the HTTP stage as-is
 *   (`responseBodySha256`); IMDS returns the token bare (no newline, no JSON), so that digest is
 *   the SHA-256 of the token bytes;
 * - use: the X-aws-ec2-metadata-token value, trimmed of SP/HTAB like every header value, is
 *   hashed over its latin1 bytes (the head parser decodes bytes as latin1, so this gives back the
 *   bytes that were sent).
 */
import { createHash } from 'node:crypto';

export const FINGERPRINT_HEX_CHARS = 16;

/** SHA-256 of an empty body: a token response without a body issues no token. */
const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** Fingerprint of a token as sent in X-aws-ec2-metadata-token; undefined for an empty value. */
export function fingerprintToken(token: string): string | undefined {
  const trimmed = token.replace(/^[ \t]+|[ \t]+$/g, '');
  if (trimmed === '') return undefined;
  return createHash('sha256')
    .update(Buffer.from(trimmed, 'latin1'))
    .digest('hex')
    .slice(0, FINGERPRINT_HEX_CHARS);
}

/** Fingerprint of an issued token from the SHA-256 (hex) of the token response body. */
export function fingerprintFromBodyDigest(sha256Hex: string | undefined): string | undefined {
  if (sha256Hex === undefined || !/^[0-9a-f]{64}$/.test(sha256Hex)) return undefined;
  if (sha256Hex === EMPTY_SHA256) return undefined;
  return sha256Hex.slice(0, FINGERPRINT_HEX_CHARS);
}
