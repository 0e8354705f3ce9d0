import t from 'tap';
import { processIdentity } from '../../src/sinks/process-identity.js';
import { curlProcess, EXITED, OK, record, UNKNOWN } from './records.js';

t.test('a named process is its executable, command line and unit, not its pid', (t) => {
  const a = processIdentity(record());
  t.equal(
    a.label,
    '/usr/bin/curl: curl -s http://169.254.169.254/latest/meta-data/ (unit cron.service)',
  );
  const samePidless = processIdentity(
    record({
      attribution: { ...OK, process: curlProcess({ pid: 99, start: '2026-01-02T05:00:00.000Z' }) },
    }),
  );
  t.equal(samePidless.key, a.key, 'another run of the same job is the same client');
  const otherArgs = processIdentity(
    record({ attribution: { ...OK, process: curlProcess({ commandLine: 'curl -v x' }) } }),
  );
  t.not(otherArgs.key, a.key);
  const otherUnit = processIdentity(
    record({ attribution: { ...OK, process: curlProcess({ systemdUnit: 'ssh.service' }) } }),
  );
  t.not(otherUnit.key, a.key);
  t.end();
});

t.test('containers name the container, not the unit', (t) => {
  const id = processIdentity(
    record({
      attribution: {
        ...OK,
        process: curlProcess({
          executable: undefined,
          container: { id: '0123456789abcdef'.repeat(4), runtime: 'docker' },
          systemdUnit: 'docker-0123.scope',
        }),
      },
    }),
  );
  t.equal(
    id.label,
    'curl: curl -s http://169.254.169.254/latest/meta-data/ (container 0123456789ab)',
  );
  const other = processIdentity(
    record({
      attribution: {
        ...OK,
        process: curlProcess({
          executable: undefined,
          container: { id: 'fedcba9876543210'.repeat(4), runtime: 'docker' },
        }),
      },
    }),
  );
  t.not(other.key, id.key);
  t.end();
});

t.test('kernel threads and empty command lines still get a label', (t) => {
  const id = processIdentity(
    record({
      attribution: {
        ...OK,
        process: curlProcess({
          commandLine: '',
          args: [],
          executable: undefined,
          systemdUnit: undefined,
        }),
      },
    }),
  );
  t.equal(id.label, 'curl: [curl]');
  t.end();
});

t.test('failed attribution: uid via source ip, or the source ip, plus user agent', (t) => {
  const exited = processIdentity(record({ attribution: EXITED }));
  t.equal(exited.label, 'uid 1000 (alice) via 192.0.2.2 [curl/7.88.1]');
  const unknown = processIdentity(record({ attribution: UNKNOWN, headers: [] }));
  t.equal(unknown.label, '192.0.2.2');
  t.not(exited.key, unknown.key);
  const otherAgent = processIdentity(
    record({ attribution: EXITED, headers: [{ name: 'User-Agent', value: 'Boto3/1.9.0' }] }),
  );
  t.not(otherAgent.key, exited.key);
  const otherPort = processIdentity(record({ attribution: EXITED, clientPort: 50001 }));
  t.equal(otherPort.key, exited.key, 'ephemeral ports do not split a client');
  t.end();
});
