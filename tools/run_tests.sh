#!/usr/bin/env bash
# README command 2: install what the tests need, lint, then run the tests.
#   bash tools/run_tests.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh --tests
PY=${PYTHON:-python3}
# lint (setup.cfg; the same checks as .pre-commit-config.yaml)
"$PY" -m flake8
"$PY" -m isort --check-only --diff .
echo "run_tests: lint passed (flake8, isort)"
set +e
"${PYTHON:-python3}" -m pytest tests -q -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "run_tests: error: pytest collected no tests" >&2
fi
exit "$rc"
