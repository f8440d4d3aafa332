#!/usr/bin/env bash
# README command 2: install what the tests need, then run them all.
#   bash tools/run_tests.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh --tests
set +e
"${PYTHON:-python3}" -m pytest tests -q -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "run_tests: error: pytest collected no tests" >&2
fi
exit "$rc"
