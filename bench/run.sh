#!/bin/sh
# Runs every benchmark and prints its numbers (root: the attribution bench builds network
# namespaces). Record the results in README.md, section Benchmarks.
set -eu
cd "$(dirname "$0")/.."
npm run build >/dev/null
echo "== offline throughput and memory (bench/pcap-throughput.ts)"
node dist/bench/pcap-throughput.js "$@"
echo
echo "== attribution of short-lived clients (bench/attribution.ts)"
sh bench/run-attribution.sh --n 100 --repeat 3 --modes tuned --nice -10
