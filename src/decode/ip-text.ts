/**
 * Canonical text for addresses, so every stage compares and logs one spelling: dotted quad for
 * IPv4, RFC 5952 for IPv6 (lower case, no leading zeros, the longest run of two or more zero
 * groups compressed to `::`, the first such run on a tie).
 */

/** Dotted quad of the 4 bytes at `offset`; the caller has checked the bounds. */
export function ipv4Text(buf: Buffer, offset: number): string {
  return `${buf[offset] ?? 0}.${buf[offset + 1] ?? 0}.${buf[offset + 2] ?? 0}.${buf[offset + 3] ?? 0}`;
}

/** RFC 5952 text of the 16 bytes at `offset`; the caller has checked the bounds. */
export function ipv6Text(buf: Buffer, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + i * 2));

  // Longest run of zero groups (length >= 2), first one wins a tie.
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && groups[i] === 0) {
      if (runStart < 0) runStart = i;
      continue;
    }
    if (runStart >= 0) {
      const len = i - runStart;
      if (len > bestLen) {
        bestStart = runStart;
        bestLen = len;
      }
      runStart = -1;
    }
  }

  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');

  // IPv4-mapped addresses (::ffff:a.b.c.d) keep their dotted tail, as RFC 5952 section 5 says.
  if (bestStart === 0 && bestLen === 5 && groups[5] === 0xffff) {
    return `::ffff:${ipv4Text(buf, offset + 12)}`;
  }
  if (bestLen < 2) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}
