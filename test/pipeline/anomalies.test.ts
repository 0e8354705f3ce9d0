import t from 'tap';
import { Anomalies } from '../../src/anomalies.js';

t.test('counts named anomalies and sorts the snapshot', (t) => {
  const a = new Anomalies();
  a.count('http.head_too_large');
  a.count('decode.truncated_ipv4', 3);
  a.count('http.head_too_large');
  t.equal(a.get('http.head_too_large'), 2);
  t.equal(a.get('never.seen'), 0);
  t.equal(a.total(), 5);
  t.same(Object.keys(a.snapshot()), ['decode.truncated_ipv4', 'http.head_too_large']);
  t.end();
});
