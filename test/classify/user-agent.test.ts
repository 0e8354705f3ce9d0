import t from 'tap';
import { clientVerdict, compareVersions } from '../../src/classify/user-agent.js';

t.test('compareVersions is numeric per component', (t) => {
  t.equal(compareVersions('1.16.289', '1.16.29'), 1);
  t.equal(compareVersions('1.9', '1.10'), -1);
  t.equal(compareVersions('3.3.634.1', '3.3.634'), 1);
  t.equal(compareVersions('1.2', '1.2.0'), 0);
  t.end();
});

// [user agent, name, version, supports]
const table: [string, string, string | undefined, boolean | undefined][] = [
  // aws-cli v1: botocore decides.
  ['aws-cli/1.16.0 Python/3.6.8 Linux/4.14 botocore/1.12.0', 'aws-cli', '1.16.0', false],
  ['aws-cli/1.16.289 Python/3.6.8 Linux/4.14 botocore/1.13.25', 'aws-cli', '1.16.289', true],
  ['aws-cli/1.18.69 Python/3.7.4 Linux/4.14 botocore/1.16.19', 'aws-cli', '1.18.69', true],
  ['aws-cli/1.18.69 Python/3.7.4 Linux/4.14 botocore/1.13.24', 'aws-cli', '1.18.69', false],
  ['aws-cli/1.16.288', 'aws-cli', '1.16.288', false],
  ['aws-cli/1.16.289', 'aws-cli', '1.16.289', true],
  ['aws-cli/2.0.0dev155 Python/3.8 Linux/5.10 botocore/2.0.0dev155', 'aws-cli', '2.0.0', true],
  [
    'aws-cli/2.13.0 Python/3.11.4 Linux/5.10.184 exe/x86_64.amzn.2 prompt/off',
    'aws-cli',
    '2.13.0',
    true,
  ],
  // Boto3: botocore decides when present.
  ['Boto3/1.9.0 Python/3.6.8 Linux/4.14 Botocore/1.12.0', 'boto3', '1.9.0', false],
  ['Boto3/1.10.0 Python/3.6.8 Linux/4.14 Botocore/1.13.25', 'boto3', '1.10.0', true],
  ['Boto3/1.12.5', 'boto3', '1.12.5', false],
  ['Boto3/1.12.6', 'boto3', '1.12.6', true],
  [
    'Boto3/1.28.0 md/Botocore#1.31.0 ua/2.0 os/linux#5.10 lang/python#3.9.16',
    'boto3',
    '1.28.0',
    true,
  ],
  ['Botocore/1.13.24 Python/3.7', 'botocore', '1.13.24', false],
  ['Botocore/1.13.25 Python/3.7', 'botocore', '1.13.25', true],
  ['Botocore/1.31.0', 'botocore', '1.31.0', true],
  // JavaScript
  ['aws-sdk-nodejs/2.721.0 linux/v12.18.0 callback', 'aws-sdk-js', '2.721.0', false],
  ['aws-sdk-nodejs/2.722.0 linux/v12.18.0', 'aws-sdk-js', '2.722.0', true],
  ['aws-sdk-nodejs/2.1048.0 linux/v16.13.0', 'aws-sdk-js', '2.1048.0', true],
  ['aws-sdk-js/3.300.0 os/linux#5.10 lang/js md/nodejs#18.0.0', 'aws-sdk-js', '3.300.0', true],
  // Java 1.x and 2.x
  [
    'aws-sdk-java/1.11.677 Linux/4.14 OpenJDK_64-Bit_Server_VM/25.232',
    'aws-sdk-java',
    '1.11.677',
    false,
  ],
  ['aws-sdk-java/1.11.678 Linux/4.14', 'aws-sdk-java', '1.11.678', true],
  ['aws-sdk-java/1.12.500 Linux/5.10', 'aws-sdk-java', '1.12.500', true],
  ['aws-sdk-java/2.10.20 Linux/4.14', 'aws-sdk-java', '2.10.20', false],
  ['aws-sdk-java/2.10.21 Linux/4.14', 'aws-sdk-java', '2.10.21', true],
  ['aws-sdk-java/2.20.0 Linux/5.10', 'aws-sdk-java', '2.20.0', true],
  // Go v1 and v2
  ['aws-sdk-go/1.25.37 (go1.13; linux; amd64)', 'aws-sdk-go', '1.25.37', false],
  ['aws-sdk-go/1.25.38 (go1.13; linux; amd64)', 'aws-sdk-go', '1.25.38', true],
  ['aws-sdk-go/1.44.0 (go1.19; linux; amd64)', 'aws-sdk-go', '1.44.0', true],
  ['aws-sdk-go-v2/0.18.0', 'aws-sdk-go-v2', '0.18.0', false],
  ['aws-sdk-go-v2/0.19.0', 'aws-sdk-go-v2', '0.19.0', true],
  [
    'aws-sdk-go-v2/1.17.0 os/linux lang/go#1.19 md/GOOS#linux api/ec2imds#1.13.0',
    'aws-sdk-go-v2',
    '1.17.0',
    true,
  ],
  // PHP
  ['aws-sdk-php/3.147.6 OS/Linux/5.4 lang/php/7.4', 'aws-sdk-php', '3.147.6', false],
  ['aws-sdk-php/3.147.7 OS/Linux/5.4', 'aws-sdk-php', '3.147.7', true],
  ['aws-sdk-php/3.200.0', 'aws-sdk-php', '3.200.0', true],
  ['aws-sdk-php2/2.8.31 Guzzle/3.9.3', 'aws-sdk-php', '2.8.31', false],
  // Ruby
  [
    'aws-sdk-ruby3/3.78.0 ruby/2.6.3 x86_64-linux aws-sdk-core/3.78.0',
    'aws-sdk-ruby',
    '3.78.0',
    false,
  ],
  ['aws-sdk-ruby3/3.79.0 ruby/2.6.3 x86_64-linux', 'aws-sdk-ruby', '3.79.0', true],
  ['aws-sdk-core/3.170.0', 'aws-sdk-ruby', '3.170.0', true],
  ['aws-sdk-ruby2/2.11.632 ruby/2.5.0', 'aws-sdk-ruby', '2.11.632', false],
  // C++
  ['aws-sdk-cpp/1.7.228 Linux/4.14 x86_64', 'aws-sdk-cpp', '1.7.228', false],
  ['aws-sdk-cpp/1.7.229 Linux/4.14 x86_64', 'aws-sdk-cpp', '1.7.229', true],
  ['aws-sdk-cpp/1.11.0', 'aws-sdk-cpp', '1.11.0', true],
  // .NET
  [
    'aws-sdk-dotnet-coreclr/3.3.634.0 aws-sdk-dotnet-core/3.3.104 .NET_Core/4.6',
    'aws-sdk-dotnet',
    '3.3.634.0',
    false,
  ],
  ['aws-sdk-dotnet-coreclr/3.3.634.1 .NET_Core/4.6', 'aws-sdk-dotnet', '3.3.634.1', true],
  ['aws-sdk-dotnet-45/3.7.0.0 .NET_Runtime/4.0', 'aws-sdk-dotnet', '3.7.0.0', true],
  // PowerShell wins over the .NET SDK token it carries.
  [
    'aws-sdk-dotnet-45/3.3.0.0 AWSPowerShell/4.0.0.0 .NET_Runtime/4.0',
    'aws-tools-powershell',
    '4.0.0.0',
    false,
  ],
  ['AWSPowerShell/4.0.1.0', 'aws-tools-powershell', '4.0.1.0', true],
  ['AWSPowerShell.NetCore/4.1.400', 'aws-tools-powershell', '4.1.400', true],
  // No token support of their own.
  ['curl/7.88.1', 'curl', '7.88.1', undefined],
  ['Python-urllib/3.11', 'python-urllib', '3.11', undefined],
  ['Wget/1.21', 'unknown', undefined, undefined],
  ['', 'unknown', undefined, undefined],
];

t.test('verdicts per SDK, below / at / above the minimum', (t) => {
  for (const [ua, name, version, supports] of table) {
    const v = clientVerdict(ua);
    t.same([v.name, v.version, v.supportsImdsV2], [name, version, supports], ua);
    if (supports === false) t.match(v.hint, /^upgrade \S+ to >= \d/, `${ua}: hint`);
    if (supports === true) t.match(v.hint, /supports IMDSv2: enable it/, `${ua}: hint`);
    if (supports === undefined) t.match(v.hint, /PUT \/latest\/api\/token/, `${ua}: hint`);
  }
  t.equal(clientVerdict(undefined).name, 'unknown');
  t.match(clientVerdict('curl/8.0.0').hint, /^this client does not fetch tokens by itself/);
  t.match(clientVerdict(undefined).hint, /^unknown client: .*aws-sdk-js v3 sends no User-Agent/);
  t.end();
});

t.test('hints name the versions to reach', (t) => {
  t.equal(clientVerdict('aws-sdk-go/1.20.0').hint, 'upgrade aws-sdk-go to >= 1.25.38');
  t.equal(clientVerdict('aws-sdk-java/2.5.0').hint, 'upgrade aws-sdk-java to >= 2.10.21');
  t.equal(clientVerdict('aws-sdk-java/1.11.0').hint, 'upgrade aws-sdk-java to >= 1.11.678');
  t.match(
    clientVerdict('aws-cli/1.16.0 Python/3.6 botocore/1.12.0').hint,
    /^upgrade aws-cli to >= 1\.16\.289 \(botocore >= 1\.13\.25; this one has 1\.12\.0\)$/,
  );
  t.equal(
    clientVerdict('aws-sdk-go-v2/1.17.0').hint,
    'aws-sdk-go-v2 1.17.0 supports IMDSv2: enable it (or check the hop limit if it runs in a container)',
  );
  t.match(clientVerdict('aws-sdk-java/x').hint, /could not read the aws-sdk-java version/);
  t.equal(clientVerdict('aws-sdk-java/x').supportsImdsV2, undefined);
  t.end();
});

t.test('hostile user agents stay bounded', (t) => {
  const v = clientVerdict(`aws-sdk-go/${'9'.repeat(10_000)}`);
  t.ok((v.version ?? '').length <= 64);
  t.ok(v.hint.length < 300);
  t.end();
});
