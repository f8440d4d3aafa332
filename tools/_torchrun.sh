#!/usr/bin/env bash
# Shared by dist_train.sh and dist_test.sh: bash tools/_torchrun.sh N SCRIPT [args...]
# N processes per node (refused if larger than the visible GPUs; on a machine
# without CUDA, N CPU processes on gloo). Multi-node: NNODES, NODE_RANK,
# MASTER_ADDR, PORT. SCRIPT is first run once with --preflight (checks only).
set -euo pipefail
NPROC=$1
SCRIPT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
"${PYTHON:-python}" "$HERE/misc/check_nproc.py" "$NPROC"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}"
# Check config, data and weights once, here, so that a user mistake is one
# short message instead of a traceback from each of N processes.
"${PYTHON:-python}" "$SCRIPT" "${@:3}" --preflight
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" "$SCRIPT" "${@:3}"
