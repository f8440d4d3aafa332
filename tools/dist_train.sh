#!/usr/bin/env bash
# Usage: bash tools/dist_train.sh CONFIG N [train.py args...]
# N processes per node (GPUs; on a machine without CUDA, N CPU processes on gloo).
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: bash tools/dist_train.sh CONFIG N [args...]" >&2; exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
exec bash "$HERE/_torchrun.sh" "$2" "$HERE/train.py" "$1" --launcher pytorch "${@:3}"
