/**
 * What the User-Agent says about the client: which AWS SDK or tool, which version, and whether
 * that version can do IMDSv2 (minimum versions from the AWS documentation, see DESIGN.md).
 *
 * A User-Agent is a list of product tokens ("name/version"). Several may name AWS software
 * ("aws-cli/1.16.0 Python/3.6 botocore/1.12.0"); the verdict is decided by the SDK that makes
 * the IMDS call:
 * - aws-cli v1 and Boto3 fetch credentials through botocore, so botocore's version decides when
 *   it is present (aws-cli pins its botocore; Boto3 does not). The reported name stays the
 *   product the operator installed (aws-cli, boto3), the hint names both versions.
 * - aws-cli v2 bundles its own botocore and always supports IMDSv2.
 * - AWS Tools for PowerShell is reported as itself (its releases pin the .NET SDK), before the
 *   aws-sdk-dotnet token it also carries.
 * - Ruby: aws-sdk-core is the gem that talks to IMDS; "aws-sdk-ruby3/<v>" carries the same
 *   version. "aws-sdk-ruby2" and "aws-sdk-php2" are old major versions, hence too old.
 */
import type { ClientVerdict } from './classification.js';

type Version = readonly number[];

/** Leading numeric part of a version ("2.0.0dev155" -> "2.0.0"), bounded in size. */
function cleanVersion(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  return /^\d{1,9}(?:\.\d{1,9}){0,5}/.exec(raw)?.[0];
}

function parseVersion(text: string): Version {
  return text.split('.').map(Number);
}

/** Numeric compare by component, a missing component counts as 0 ("1.2" == "1.2.0"). */
export function compareVersions(a: string, b: string): number {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  for (let i = 0; i < Math.max(va.length, vb.length); i++) {
    const diff = (va[i] ?? 0) - (vb[i] ?? 0);
    if (diff !== 0) return diff < 0 ? -1 : 1;
  }
  return 0;
}

function major(version: string): number {
  return parseVersion(version)[0] ?? 0;
}

/** Product tokens by lower-cased name, first occurrence wins. Comments "(...)" are skipped. */
function productTokens(userAgent: string): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const word of userAgent.split(/\s+/)) {
    const slash = word.indexOf('/');
    if (slash <= 0 || word.startsWith('(')) continue;
    const name = word.slice(0, slash).toLowerCase();
    let version = word.slice(slash + 1);
    // Newer SDK user agents: "md/Botocore#1.31.0", "api/ec2imds#1.13.0".
    const hash = version.indexOf('#');
    if (name === 'md' && hash > 0) {
      const metaName = version.slice(0, hash).toLowerCase();
      if (!tokens.has(metaName)) tokens.set(metaName, version.slice(hash + 1));
      continue;
    }
    version = version.replace(/[;,)]+$/, '');
    if (!tokens.has(name)) tokens.set(name, version);
  }
  return tokens;
}

const NO_TOKEN_HINT =
  'this client does not fetch tokens by itself: change the script to PUT /latest/api/token ' +
  'first and send the token in X-aws-ec2-metadata-token';
const SUPPORTED_SUFFIX =
  'supports IMDSv2: enable it (or check the hop limit if it runs in a container)';

/** The minimum-version verdict for one SDK. `decidingNote` names a deciding dependency. */
function verdict(
  name: string,
  version: string | undefined,
  min: string,
  decidedBy?: { readonly name: string; readonly version: string; readonly min: string },
): ClientVerdict {
  const judged = decidedBy ?? { name, version, min };
  if (judged.version === undefined) {
    return {
      name,
      version,
      supportsImdsV2: undefined,
      hint: `could not read the ${name} version: IMDSv2 needs ${name} >= ${min}`,
    };
  }
  const supports = compareVersions(judged.version, judged.min) >= 0;
  const via = decidedBy ? ` (${decidedBy.name} ${decidedBy.version})` : '';
  if (supports) {
    return {
      name,
      version,
      supportsImdsV2: true,
      hint: `${name} ${version ?? ''}${via} ${SUPPORTED_SUFFIX}`.replace(/ {2,}/g, ' '),
    };
  }
  const need = decidedBy
    ? ` (${decidedBy.name} >= ${decidedBy.min}; this one has ${decidedBy.version})`
    : '';
  return { name, version, supportsImdsV2: false, hint: `upgrade ${name} to >= ${min}${need}` };
}

function supported(name: string, version: string): ClientVerdict {
  return { name, version, supportsImdsV2: true, hint: `${name} ${version} ${SUPPORTED_SUFFIX}` };
}

// No User-Agent is not proof of a script: aws-sdk-js v3 sends none to IMDS.
const UNKNOWN_HINT =
  'unknown client: a script must PUT /latest/api/token first and send the token in ' +
  'X-aws-ec2-metadata-token; an AWS SDK (aws-sdk-js v3 sends no User-Agent) does so once recent enough';

function noTable(name: string, version: string | undefined): ClientVerdict {
  const hint = name === 'unknown' ? UNKNOWN_HINT : NO_TOKEN_HINT;
  return { name, version, supportsImdsV2: undefined, hint };
}

export const MIN_VERSIONS = {
  'aws-cli': '1.16.289',
  'aws-tools-powershell': '4.0.1.0',
  'aws-sdk-dotnet': '3.3.634.1',
  'aws-sdk-cpp': '1.7.229',
  'aws-sdk-go': '1.25.38',
  'aws-sdk-go-v2': '0.19.0',
  'aws-sdk-java-v1': '1.11.678',
  'aws-sdk-java-v2': '2.10.21',
  'aws-sdk-js': '2.722.0',
  'aws-sdk-php': '3.147.7',
  botocore: '1.13.25',
  boto3: '1.12.6',
  'aws-sdk-ruby': '3.79.0',
} as const;

function findPrefixed(tokens: Map<string, string>, prefix: string): string | undefined {
  for (const [name, version] of tokens) if (name.startsWith(prefix)) return version;
  return undefined;
}

export function clientVerdict(userAgent: string | undefined): ClientVerdict {
  if (userAgent === undefined || userAgent.trim() === '') return noTable('unknown', undefined);
  const tokens = productTokens(userAgent);
  const has = (name: string): boolean => tokens.has(name);
  const get = (name: string): string | undefined => cleanVersion(tokens.get(name));
  const botocore = get('botocore');
  const viaBotocore =
    botocore === undefined
      ? undefined
      : { name: 'botocore', version: botocore, min: MIN_VERSIONS.botocore };

  const powershell = findPrefixed(tokens, 'awspowershell');
  if (powershell !== undefined) {
    return verdict(
      'aws-tools-powershell',
      cleanVersion(powershell),
      MIN_VERSIONS['aws-tools-powershell'],
    );
  }
  if (has('aws-cli')) {
    const version = get('aws-cli');
    if (version !== undefined && major(version) >= 2) return supported('aws-cli', version);
    return verdict('aws-cli', version, MIN_VERSIONS['aws-cli'], viaBotocore);
  }
  if (has('boto3')) return verdict('boto3', get('boto3'), MIN_VERSIONS.boto3, viaBotocore);
  if (has('botocore')) return verdict('botocore', botocore, MIN_VERSIONS.botocore);
  if (has('aws-sdk-go-v2')) {
    return verdict('aws-sdk-go-v2', get('aws-sdk-go-v2'), MIN_VERSIONS['aws-sdk-go-v2']);
  }
  if (has('aws-sdk-go'))
    return verdict('aws-sdk-go', get('aws-sdk-go'), MIN_VERSIONS['aws-sdk-go']);
  if (has('aws-sdk-java')) {
    const version = get('aws-sdk-java');
    if (version !== undefined && major(version) >= 3) return supported('aws-sdk-java', version);
    const min =
      version !== undefined && major(version) === 2
        ? MIN_VERSIONS['aws-sdk-java-v2']
        : MIN_VERSIONS['aws-sdk-java-v1'];
    return verdict('aws-sdk-java', version, min);
  }
  if (has('aws-sdk-nodejs') || has('aws-sdk-js')) {
    const version = get('aws-sdk-nodejs') ?? get('aws-sdk-js');
    if (version !== undefined && major(version) >= 3) return supported('aws-sdk-js', version);
    return verdict('aws-sdk-js', version, MIN_VERSIONS['aws-sdk-js']);
  }
  if (has('aws-sdk-php') || has('aws-sdk-php2')) {
    return verdict(
      'aws-sdk-php',
      get('aws-sdk-php') ?? get('aws-sdk-php2'),
      MIN_VERSIONS['aws-sdk-php'],
    );
  }
  const ruby = findPrefixed(tokens, 'aws-sdk-ruby');
  if (has('aws-sdk-core') || ruby !== undefined) {
    return verdict(
      'aws-sdk-ruby',
      get('aws-sdk-core') ?? cleanVersion(ruby),
      MIN_VERSIONS['aws-sdk-ruby'],
    );
  }
  if (has('aws-sdk-cpp'))
    return verdict('aws-sdk-cpp', get('aws-sdk-cpp'), MIN_VERSIONS['aws-sdk-cpp']);
  const dotnet = findPrefixed(tokens, 'aws-sdk-dotnet');
  if (dotnet !== undefined) {
    return verdict('aws-sdk-dotnet', cleanVersion(dotnet), MIN_VERSIONS['aws-sdk-dotnet']);
  }
  if (has('curl')) return noTable('curl', get('curl'));
  if (has('python-urllib')) return noTable('python-urllib', get('python-urllib'));
  return noTable('unknown', undefined);
}
