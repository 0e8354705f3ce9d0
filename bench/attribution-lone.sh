#!/usr/bin/env bash
# Lone short-lived clients, end to end (root; uses the fake instance of scripts/fake-instance.sh,
# which must be up: `scripts/fake-instance.sh up --mode optional`). Starts the built analyzer in
# the instance namespace, then runs N sequential single clients (curl, python urllib), each
# printing its own pid first (the truth), and counts how many the analyzer names right. Node runs
# with --no-lazy, as the packaged command does.
#   bench/attribution-lone.sh [--n 10] [--nice -10] [--client curl|urllib|both] [--gap 0.3]
set -euo pipefail
cd "$(dirname "$0")/.."
N=10 NICE=-10 CLIENT=both GAP=0.3
while [ $# -gt 0 ]; do
  case $1 in
    --n) N=$2; shift 2 ;;
    --nice) NICE=$2; shift 2 ;;
    --client) CLIENT=$2; shift 2 ;;
    --gap) GAP=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
NS=${FI_NAME:-fic}-inst
ip netns list | grep -qw "$NS" || { echo "fake instance $NS is not up" >&2; exit 2; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
clients=()
case $CLIENT in
  curl) clients=(curl) ;;
  urllib) clients=(urllib) ;;
  both) clients=(curl urllib) ;;
esac
secs=$(awk -v n="$N" -v g="$GAP" -v c="${#clients[@]}" 'BEGIN { printf "%d", n * c * (g + 0.3) + 4 }')
ip netns exec "$NS" nice -n "$NICE" node --no-lazy dist/src/cli/main.js -i eth0 --duration "$secs" \
  --format json >"$OUT/events" 2>"$OUT/err" &
an=$!
for _ in $(seq 100); do grep -q 'capturing on' "$OUT/err" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
# One launcher shell inside the namespace starts every client (as a login shell or cron would):
# `ip netns exec` per client would add its own mount namespace set-up to each one.
ip netns exec "$NS" sh -c '
for c in '"${clients[*]}"'; do
  i=0
  while [ $i -lt '"$N"' ]; do
    if [ "$c" = curl ]; then
      sh -c "echo curl \$\$; exec curl -s -o /dev/null -A lone-curl http://169.254.169.254/latest/meta-data/instance-id"
    else
      /usr/bin/python3 -c "import os,urllib.request as u
print(\"urllib\", os.getpid(), flush=True)
u.urlopen(u.Request(\"http://169.254.169.254/latest/meta-data/instance-id\", headers={\"User-Agent\": \"lone-urllib\"}), timeout=5).read()"
    fi
    sleep '"$GAP"'
    i=$((i + 1))
  done
done' >>"$OUT/truth"
wait "$an" || true
node -e '
const fs = require("fs");
const [ev, tr] = process.argv.slice(1);
const truth = fs.readFileSync(tr, "utf8").trim().split("\n").map((l) => l.split(" "));
const pids = new Map(truth.map(([c, p]) => [Number(p), c]));
const by = {};
for (const line of fs.readFileSync(ev, "utf8").split("\n")) {
  if (!line.startsWith("{")) continue;
  const e = JSON.parse(line);
  if (e.event?.action !== "imds-request") continue;
  const ua = e.user_agent?.original ?? "";
  const c = ua === "lone-curl" ? "curl" : ua === "lone-urllib" ? "urllib" : undefined;
  if (c === undefined) continue;
  const t = (by[c] ??= { right: 0, wrong: 0, exited: 0, unknown: 0, lat: [], reasons: {} });
  const st = e.imds?.attribution?.status;
  const pid = e.process?.pid;
  if (st === "ok") {
    if (pids.get(pid) === c) t.right++; else t.wrong++;
  } else {
    t[st] = (t[st] ?? 0) + 1;
    const r = String(e.imds?.attribution?.reason ?? "").replace(/\d+/g, "N");
    t.reasons[r] = (t.reasons[r] ?? 0) + 1;
  }
  if (e.imds?.attribution?.latency_ms !== undefined) t.lat.push(e.imds.attribution.latency_ms);
}
for (const [c, t] of Object.entries(by)) {
  t.lat.sort((a, b) => a - b);
  t.medianMs = t.lat[Math.floor(t.lat.length / 2)];
  delete t.lat;
  console.log(JSON.stringify({ client: c, sent: truth.filter(([k]) => k === c).length, ...t }));
}
' "$OUT/events" "$OUT/truth"
