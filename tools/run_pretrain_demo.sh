#!/usr/bin/env bash
# ImageNet pre-training, in miniature: install the pre-training extra, make the
# synthetic texture set (mmpretrain's ImageNet layout), train EPSANet-50 with the
# official recipe's model, loss and augmentations for a few minutes on CPU, and
# print top-1 on its val split (chance: 1 in 6 = 16.7%).
#   bash tools/run_pretrain_demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CONFIG=configs/demo/epsanet50_synthetic_imagenet.py
WORK_DIR=${WORK_DIR:-work_dirs/pretrain_demo}
DATA=data/synthetic_imagenet

bash tools/setup_env.sh --pretrain
if ! "$PY" -c "import mmattn.pretrain" 2>/dev/null; then
    echo "run_pretrain_demo: the pre-training extra is not available here (see the note above)" >&2
    exit 1
fi
if [ ! -f "$DATA/meta/val.txt" ]; then
    "$PY" tools/misc/make_synthetic_imagenet.py "$DATA"
fi
start=$(date +%s)
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR"
elapsed=$(( $(date +%s) - start ))
"$PY" - "$WORK_DIR" "$elapsed" <<'PYEOF'
import json, os, sys
work, elapsed = sys.argv[1], int(sys.argv[2])
top1 = json.load(open(os.path.join(work, 'val_metrics.json')))['accuracy/top1']
print(f"\nmmattn pre-training demo: EPSANet-50 on 6 synthetic texture classes (64 px), "
      f"{elapsed // 60} min {elapsed % 60} s")
print(f"  val top-1 {top1:.1f}% (chance 16.7%)")
print(f"  checkpoint: {os.path.join(work, 'epoch_12.pth')}")
PYEOF
