/**
 * Tells token requests, IMDSv2 and IMDSv1 calls apart. Pure; the token value never leaves this
 * function (only its fingerprint does).
 */
import type { HttpExchange, RequestHead } from '../http/exchange.js';
import { headerValue } from '../http/exchange.js';
import type { Classification } from './classification.js';
import { fingerprintFromBodyDigest, fingerprintToken } from './token-fingerprint.js';

export const TOKEN_PATH = '/latest/api/token';
export const TOKEN_HEADER = 'X-aws-ec2-metadata-token';
export const TOKEN_TTL_HEADER = 'X-aws-ec2-metadata-token-ttl-seconds';
export const MIN_TOKEN_TTL_SECONDS = 1;
export const MAX_TOKEN_TTL_SECONDS = 21600;

/**
 * The path of a request target: origin-form ("/a?b") or absolute-form
 * ("http://169.254.169.254/a?b", as sent through a proxy), without query or fragment.
 */
export function targetPath(target: string): string {
  let path = target;
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(path);
  if (absolute) path = path.slice(absolute[0].length) || '/';
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}

/** PUT /latest/api/token (method case-sensitive as in HTTP; path compared exactly). */
export function isTokenRequest(head: Pick<RequestHead, 'method' | 'target'>): boolean {
  return head.method === 'PUT' && targetPath(head.target) === TOKEN_PATH;
}

/**
 * The TTL header as IMDS reads it: a decimal integer. `seconds` is reported for any integer
 * (so an operator sees what was asked, e.g. 86400); `invalid` when missing, not an integer or
 * outside 1..21600 (IMDS answers 400).
 */
function parseTtl(value: string | undefined): { seconds: number | undefined; invalid: boolean } {
  if (value === undefined || !/^\d{1,15}$/.test(value))
    return { seconds: undefined, invalid: true };
  const seconds = Number(value);
  const invalid = seconds < MIN_TOKEN_TTL_SECONDS || seconds > MAX_TOKEN_TTL_SECONDS;
  return { seconds, invalid };
}

export function classifyExchange(exchange: HttpExchange): Classification {
  const { request, response } = exchange;
  const forwardedFor = headerValue(request.headers, 'X-Forwarded-For') !== undefined;
  const status = response?.status;
  if (isTokenRequest(request)) {
    const ttl = parseTtl(headerValue(request.headers, TOKEN_TTL_HEADER));
    // Only a 200 carries a token; an error body (403 text ...) is not one.
    const issued =
      status === 200 ? fingerprintFromBodyDigest(exchange.responseBodySha256) : undefined;
    return {
      kind: 'token',
      tokenTtlSeconds: ttl.seconds,
      tokenTtlInvalid: ttl.invalid,
      tokenFingerprint: issued,
      forwardedFor,
      status,
    };
  }
  const token = headerValue(request.headers, TOKEN_HEADER);
  return {
    kind: token === undefined ? 'v1' : 'v2',
    tokenTtlSeconds: undefined,
    tokenTtlInvalid: false,
    tokenFingerprint: token === undefined ? undefined : fingerprintToken(token),
    forwardedFor,
    status,
  };
}
