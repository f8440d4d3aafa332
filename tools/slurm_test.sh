#!/usr/bin/env bash
# Usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [args...]" >&2
    exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
exec bash "$HERE/_srun.sh" "$1" "$2" "$HERE/test.py" "$3" "$4" "${@:5}"
