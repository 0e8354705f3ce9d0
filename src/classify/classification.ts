/** What kind of IMDS call a request is, and what can be said about it without any secret. */
export type ImdsKind = 'v1' | 'v2' | 'token';

export interface Classification {
  readonly kind: ImdsKind;
  /** token: the TTL asked for in X-aws-ec2-metadata-token-ttl-seconds, when it is a valid integer. */
  readonly tokenTtlSeconds: number | undefined;
  /** token: the TTL header is missing or outside 1..21600 (IMDS answers 400). */
  readonly tokenTtlInvalid: boolean;
  /**
   * Fingerprint (first 16 hex chars of SHA-256) of the token: sent with a v2 request, or issued
   * in the response to a token request. The token value itself never leaves classify.
   */
  readonly tokenFingerprint: string | undefined;
  /** The request carried X-Forwarded-For (IMDS refuses such token PUTs with 403). */
  readonly forwardedFor: boolean;
  /** Response status when a response was seen. */
  readonly status: number | undefined;
}

/** What the User-Agent says about the client and whether it can do IMDSv2. */
export interface ClientVerdict {
  /** aws-cli, boto3, botocore, aws-sdk-js, aws-sdk-java, aws-sdk-go, aws-sdk-go-v2, aws-sdk-php, aws-sdk-ruby, aws-sdk-cpp, aws-sdk-dotnet, aws-tools-powershell, curl, python-urllib, unknown */
  readonly name: string;
  readonly version: string | undefined;
  /** true/false per the brief's minimum-version table; undefined when unknown. */
  readonly supportsImdsV2: boolean | undefined;
  /** One sentence an operator can act on, e.g. "upgrade botocore to >= 1.13.25". */
  readonly hint: string;
}

/** The hop-limit symptom: a token PUT that got no answer or an error, then a v1 call. */
export interface FallbackVerdict {
  /** The failed token request's flow id. */
  readonly afterTokenFlowId: string;
  /** Why the token request failed: 'no_response' or the HTTP status. */
  readonly tokenOutcome: string;
  /** Human explanation, mentions the hop limit when the client is in a container. */
  readonly explanation: string;
}
