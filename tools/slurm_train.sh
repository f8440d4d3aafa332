#!/usr/bin/env bash
# Usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [args...]" >&2
    exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
exec bash "$HERE/_srun.sh" "$1" "$2" "$HERE/train.py" "$3" --work-dir="$4" "${@:5}"
