#!/usr/bin/env bash
# README command 1 (the main job): install what is needed, make the synthetic
# COCO-format shapes set, train Mask R-CNN on VoVNetV2-19-slim-dw-eSE with
# 2 processes (tools/dist_train.sh; gloo on CPU, NCCL on GPUs), and print box
# and mask AP on the synthetic val set.
#   bash tools/run_demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CONFIG=configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py
WORK_DIR=${WORK_DIR:-work_dirs/demo}
DATA=data/synthetic_coco

bash tools/setup_env.sh
if [ ! -f "$DATA/annotations/instances_val.json" ]; then
    "$PY" tools/misc/make_synthetic_coco.py "$DATA" --num-train 400 --num-val 100 --seed 0
fi
start=$(date +%s)
PYTHON="$PY" bash tools/dist_train.sh "$CONFIG" 2 --work-dir "$WORK_DIR"
elapsed=$(( $(date +%s) - start ))
"$PY" - "$WORK_DIR/val_metrics.json" "$elapsed" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"\nmmattn demo: Mask R-CNN / VoVNetV2-19-slim-dw-eSE on synthetic shapes, "
      f"2 processes, {int(sys.argv[2]) // 60} min {int(sys.argv[2]) % 60} s")
print(f"  box  AP {m['coco/bbox_mAP']:.3f}  AP50 {m['coco/bbox_mAP_50']:.3f}  AP75 {m['coco/bbox_mAP_75']:.3f}")
print(f"  mask AP {m['coco/segm_mAP']:.3f}  AP50 {m['coco/segm_mAP_50']:.3f}  AP75 {m['coco/segm_mAP_75']:.3f}")
print(f"  metrics: {sys.argv[1]}")
PYEOF
