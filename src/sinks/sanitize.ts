/**
 * Bounding, escaping and redaction of strings that came from the wire or from /proc.
 *
 * JSON output keeps the text as is (JSON.stringify escapes control characters) but bounded in
 * length; human text output (stdout, journald) additionally escapes every control character so
 * a crafted User-Agent or path cannot forge log lines or terminal escape sequences.
 */

/** Marker appended to a string cut at its bound, so a reader knows it was cut. */
export const TRUNCATION_MARK = '…';

/** Bounds used for fields that come from the wire or from process command lines. */
export const LIMITS = {
  userAgent: 512,
  method: 32,
  path: 2048,
  query: 2048,
  commandLine: 4096,
  arg: 1024,
  args: 128,
  ancestors: 32,
  name: 256,
  reason: 512,
} as const;

/** Cuts `s` to at most `max` UTF-16 units (marker included), never splitting a surrogate pair. */
export function bounded(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = Math.max(0, max - TRUNCATION_MARK.length);
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return s.slice(0, end) + TRUNCATION_MARK;
}

// C0 controls, DEL, C1 controls, and the Unicode bidi/line separators that can reorder or
// split what a terminal or log viewer shows.
// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Escapes control characters as `\xNN` / `\uNNNN` (and the backslash itself) for text output. */
export function escapeControl(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(UNSAFE_TEXT, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Text-output form of a wire string: bounded, then escaped. */
export function safeText(s: string, max: number): string {
  return escapeControl(bounded(s, max));
}

export const REDACTED = '[REDACTED]';

/**
 * A token passed on a command line (`curl -H "X-aws-ec2-metadata-token: AQAE..."`) would
 * otherwise reach the log through process.args. Header-shaped occurrences are redacted by
 * pattern; exact known token values (the one a v2 request sent) are redacted wherever they are.
 */
const TOKEN_HEADER_IN_TEXT = /(x-aws-ec2-metadata-token\s*[:=]\s*)(['"]?)[^\s'"]+/gi;

/**
 * Shortest token value redacted by exact match (real tokens are ~56 characters). Redacting too
 * much only blanks some text; redacting too little leaks, so the bar is low.
 */
const MIN_SECRET_LENGTH = 4;

export function redactSecrets(s: string, secrets: readonly string[]): string {
  let out = s.replace(TOKEN_HEADER_IN_TEXT, `$1$2${REDACTED}`);
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH && out.includes(secret)) {
      out = out.split(secret).join(REDACTED);
    }
  }
  return out;
}
