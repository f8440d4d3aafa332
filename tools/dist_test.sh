#!/usr/bin/env bash
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT N [test.py args...]
# N processes per node (GPUs; on a machine without CUDA, N CPU processes on gloo).
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: bash tools/dist_test.sh CONFIG CHECKPOINT N [args...]" >&2; exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
exec bash "$HERE/_torchrun.sh" "$3" "$HERE/test.py" "$1" "$2" --launcher pytorch "${@:4}"
