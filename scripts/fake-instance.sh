#!/usr/bin/env bash
# Brings the fake EC2 instance of the end-to-end tests up and down by hand, to try the analyzer
# and real clients without a cloud account. Same topology as test/helpers/fake-instance/:
#
#   container (fic-ctr) eth0 198.51.100.2/24, 2001:db8:1::2/64
#        | veth, NAT (MASQUERADE) like Docker's bridge
#   instance  (fic-inst) ctr0 198.51.100.1/24, eth0 192.0.2.2/24, 2001:db8::2/64
#        | veth                         <- run imds-analyzer here: --interface eth0
#   imds      (fic-imds) eth0 192.0.2.1/24, 169.254.169.254, fd00:ec2::254 (fake IMDS on :80)
#
# Usage (root):
#   scripts/fake-instance.sh up [--mode optional|required] [--hop-limit N] [--latency-ms N]
#   scripts/fake-instance.sh exec instance|container|imds COMMAND [ARGS...]
#   scripts/fake-instance.sh log       # what the fake IMDS answered (method path status class)
#   scripts/fake-instance.sh down
#   FI_NAME=xyz scripts/fake-instance.sh ...   # a second bench beside the default one (fic)
# Example:
#   scripts/fake-instance.sh up --mode required
#   scripts/fake-instance.sh exec instance node dist/src/cli/main.js -i eth0 --duration 20 &
#   scripts/fake-instance.sh exec container curl -s http://169.254.169.254/latest/meta-data/
#   scripts/fake-instance.sh down
# Only the IMDS addresses and documentation ranges are used; nothing leaves the machine.
set -euo pipefail

# FI_NAME lets two people (or a person and a script) each have a bench: names stay short.
NAME=${FI_NAME:-fic}
INST=$NAME-inst
IMDS=$NAME-imds
CTR=$NAME-ctr
STATE=/run/imds-fake-instance-$NAME
HERE="$(cd "$(dirname "$0")" && pwd)"
MOCK="$HERE/../test/helpers/mock-imds.py"

die() {
  echo "fake-instance.sh: $*" >&2
  exit 2
}

in_ns() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

up() {
  [ "$(id -u)" -eq 0 ] || die "run as root (network namespaces, iptables)"
  ip netns list | grep -qw "$INST" && die "already up (run: $0 down, or set FI_NAME)"
  local mock_args=("$@")
  mkdir -p "$STATE"
  ip netns add "$INST"
  ip netns add "$IMDS"
  ip netns add "$CTR"
  for ns in "$INST" "$IMDS" "$CTR"; do in_ns "$ns" ip link set lo up; done

  ip link add "$NAME-a" type veth peer name "$NAME-b"
  ip link set "$NAME-a" netns "$INST"
  ip link set "$NAME-b" netns "$IMDS"
  in_ns "$INST" ip link set "$NAME-a" name eth0
  in_ns "$IMDS" ip link set "$NAME-b" name eth0
  ip link add "$NAME-c" type veth peer name "$NAME-d"
  ip link set "$NAME-c" netns "$CTR"
  ip link set "$NAME-d" netns "$INST"
  in_ns "$CTR" ip link set "$NAME-c" name eth0
  in_ns "$INST" ip link set "$NAME-d" name ctr0
  for pair in "$INST eth0" "$INST ctr0" "$IMDS eth0" "$CTR eth0"; do
    read -r ns dev <<<"$pair"
    in_ns "$ns" ip link set "$dev" up
  done

  in_ns "$IMDS" ip addr add 192.0.2.1/24 dev eth0
  in_ns "$IMDS" ip addr add 169.254.169.254/32 dev eth0
  in_ns "$IMDS" ip -6 addr add 2001:db8::1/64 dev eth0 nodad
  in_ns "$IMDS" ip -6 addr add fd00:ec2::254/128 dev eth0 nodad

  in_ns "$INST" ip addr add 192.0.2.2/24 dev eth0
  in_ns "$INST" ip -6 addr add 2001:db8::2/64 dev eth0 nodad
  in_ns "$INST" ip route add default via 192.0.2.1
  in_ns "$INST" ip -6 route add default via 2001:db8::1
  in_ns "$INST" ip addr add 198.51.100.1/24 dev ctr0
  in_ns "$INST" ip -6 addr add 2001:db8:1::1/64 dev ctr0 nodad
  in_ns "$INST" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  in_ns "$INST" iptables -t nat -A POSTROUTING -s 198.51.100.0/24 -o eth0 -j MASQUERADE
  in_ns "$INST" ip6tables -t nat -A POSTROUTING -s 2001:db8:1::/64 -o eth0 -j MASQUERADE

  in_ns "$CTR" ip addr add 198.51.100.2/24 dev eth0
  in_ns "$CTR" ip route add default via 198.51.100.1
  in_ns "$CTR" ip -6 addr add 2001:db8:1::2/64 dev eth0 nodad
  in_ns "$CTR" ip -6 route add default via 2001:db8:1::1

  # The fake IMDS in the background; its log is method, path, status, class (never a token).
  # Not through in_ns: `ip netns exec` execs python, so $! is the mock's own pid.
  ip netns exec "$IMDS" /usr/bin/python3 "$MOCK" "${mock_args[@]}" >"$STATE/mock.out" 2>"$STATE/mock.log" &
  echo $! >"$STATE/mock.pid"
  for _ in $(seq 50); do
    grep -q listening "$STATE/mock.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q listening "$STATE/mock.out" || { cat "$STATE/mock.log" >&2; down; die "fake IMDS did not start"; }
  cat "$STATE/mock.out"
  echo "up: ip netns exec $INST ... (analyzer: --interface eth0), container: $CTR"
}

down() {
  if [ -f "$STATE/mock.pid" ]; then
    kill "$(cat "$STATE/mock.pid")" 2>/dev/null || true
    rm -f "$STATE/mock.pid"
  fi
  # Whatever still runs inside the bench's namespaces was started in them by this bench's user
  # (ip netns pids lists exactly those): end it so the namespaces really go away.
  for ns in "$CTR" "$INST" "$IMDS"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  done
  for ns in "$CTR" "$INST" "$IMDS"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$STATE"
  echo "down"
}

case "${1:-}" in
  up)
    shift
    up "$@"
    ;;
  down) down ;;
  log) cat "$STATE/mock.log" ;;
  exec)
    shift
    where=${1:-}
    shift || true
    case "$where" in
      instance) in_ns "$INST" "$@" ;;
      container) in_ns "$CTR" "$@" ;;
      imds) in_ns "$IMDS" "$@" ;;
      *) die "exec instance|container|imds COMMAND" ;;
    esac
    ;;
  *) die "usage: $0 up [mock flags] | down | log | exec instance|container|imds COMMAND" ;;
esac
