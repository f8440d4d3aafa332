#!/usr/bin/env bash
# Usage: bash tools/dist_train.sh CONFIG N [train.py args...]
# N processes per node (GPUs; on a machine without CUDA, N CPU processes on gloo).
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: bash tools/dist_train.sh CONFIG N [args...]" >&2; exit 2
fi
CONFIG=$1
NPROC=$2
HERE=$(cd "$(dirname "$0")" && pwd)
"${PYTHON:-python}" "$HERE/misc/check_nproc.py" "$NPROC"
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$HERE/train.py" "$CONFIG" --launcher pytorch "${@:3}"
