#!/bin/sh
# Attribution benchmark (root: it creates network namespaces). Compiles, then runs
# dist/bench/attribution.js; options: --n 100 --repeat 3 --modes tuned,naive --nice 0,-10 --verbose
set -eu
cd "$(dirname "$0")/.."
node_modules/.bin/tsc -p tsconfig.json >/dev/null || true # emits even when other files have type errors
exec node dist/bench/attribution.js "$@"
