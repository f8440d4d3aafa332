#!/usr/bin/env bash
# Bring this machine to a working state for mmattn. Idempotent: on a ready
# machine it only checks (a few seconds).
#   bash tools/setup_env.sh              # runtime
#   bash tools/setup_env.sh --pretrain   # + ImageNet pre-training (mmpretrain, torchvision)
#   bash tools/setup_env.sh --segmentation  # + semantic segmentation (mmsegmentation)
#   bash tools/setup_env.sh --tests      # + pre-training, segmentation and test extras
#                                        #   (pytest, onnx, onnxruntime, openvino, flake8, isort,
#                                        #   openmim)
# Keeps an installed torch (must be < 2.14), else installs torch==2.13.0; pins
# setuptools>=77.0.3,<80; installs mmcv with compiled ops (from source, ~26 min on 2 cores,
# unless pip finds a wheel through PIP_FIND_LINKS); installs mmdet and mmattn.
# The pre-training extra takes the torchvision built for the installed torch and
# never lets pip move torch; if that torchvision cannot load here (the registry's
# build is a CUDA one, which fails next to a CPU-only torch), it is removed again
# with a note, and everything else still works.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PIP=("$PY" -m pip --disable-pip-version-check)
case "${1:-}" in
    --tests) EXTRAS="[tests,pretrain,segmentation]" ;;
    --pretrain) EXTRAS="[pretrain]" ;;
    --segmentation) EXTRAS="[segmentation]" ;;
    "") EXTRAS="" ;;
    *) echo "usage: bash tools/setup_env.sh [--tests|--pretrain|--segmentation]" >&2; exit 2 ;;
esac
say() { echo "[setup_env] $*"; }

# PIP_FIND_LINKS (e.g. a folder with a prebuilt mmcv wheel) *replaces* pip's
# configured find-links, which may be where the local CPU torch wheel lives;
# keep both, or pip would fetch the registry's (CUDA) torch build instead.
configured_links=$(env -u PIP_FIND_LINKS "$PY" -m pip config get global.find-links 2>/dev/null || true)
if [ -n "${PIP_FIND_LINKS:-}" ] && [ -n "$configured_links" ]; then
    export PIP_FIND_LINKS="$PIP_FIND_LINKS $configured_links"
fi

# 1. torch: keep what is there (if < 2.14), never let pip pick one.
if "$PY" -c "import torch" 2>/dev/null; then
    "$PY" - <<'PYEOF' || exit 1
import sys, torch
major, minor = (int(v) for v in torch.__version__.split('+')[0].split('.')[:2])
if (major, minor) >= (2, 14) or (major, minor) < (2, 1):
    sys.exit(f'[setup_env] error: torch {torch.__version__} is installed; mmattn needs '
             f'2.1 <= torch < 2.14 (mmcv 2.1.0 does not build against 2.14 headers). '
             f'Fix: pip install torch==2.13.0')
PYEOF
else
    say "installing torch==2.13.0"
    "${PIP[@]}" install -q "torch==2.13.0"
fi

# 2. build tools: mmcv's build and mmengine's `pkg::` configs need pkg_resources,
#    torch needs setuptools>=77.0.3, and the editable install below needs the
#    legacy `setup.py develop`, which setuptools 80 removed.
if ! "$PY" -c "import setuptools, wheel, ninja, sys; v = tuple(int(p) for p in setuptools.__version__.split('.')[:3]); sys.exit(not (77, 0, 3) <= v < (80,))" 2>/dev/null; then
    say "installing setuptools>=77.0.3,<80, wheel, ninja"
    "${PIP[@]}" install -q "setuptools>=77.0.3,<80" wheel ninja
fi

# 3. mmcv with its compiled ops (no build isolation: it must see torch).
if ! "$PY" -c "import mmcv.ops" 2>/dev/null; then
    if "$PY" -c "import mmcv" 2>/dev/null; then
        say "mmcv is installed without its ops; reinstalling"
        "${PIP[@]}" uninstall -q -y mmcv mmcv-lite || true
    fi
    say "installing mmcv with ops (PIP_FIND_LINKS=${PIP_FIND_LINKS:-<unset>: compiling from source>})"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "${PIP[@]}" install -q --no-build-isolation "mmcv>=2.0.0,<2.2.0"
fi

# 4. mmdet, mmengine, pycocotools and mmattn itself (editable), plus extras.
#    The editable install is setuptools' legacy develop mode (an .egg-link; the
#    distribution is located in this folder), what MMDetection's own editable
#    installs rely on: openmim 0.3.9 finds a package's model index and tools
#    under its distribution's location, which a PEP 660 editable install
#    leaves in site-packages (`mim search mmattn` would then fail).
if ! "$PY" - "$EXTRAS" <<'PYEOF' 2>/dev/null
import importlib, os, sys
sys.path = [p for p in sys.path if p != '']  # what is installed, not this folder as such
import mmdet, mmengine, pycocotools, mmattn
assert os.path.samefile(os.path.dirname(mmattn.__file__), 'mmattn')
import pkg_resources  # what openmim reads
assert os.path.samefile(pkg_resources.get_distribution('mmattn').location, '.')
if 'tests' in sys.argv[1]:
    for name in ('pytest', 'onnx', 'onnxruntime', 'openvino', 'flake8', 'isort', 'mim'):
        importlib.import_module(name)
if 'pretrain' in sys.argv[1]:
    importlib.import_module('mmattn.pretrain')
if 'segmentation' in sys.argv[1]:
    importlib.import_module('mmseg.models')
PYEOF
then
    say "installing mmdet and mmattn${EXTRAS}"
    # torch stays exactly as it is, whatever an extra asks for
    pin=$(mktemp)
    "$PY" -c "import torch; print('torch==' + torch.__version__)" > "$pin"
    if ! "${PIP[@]}" install -q --no-build-isolation --no-use-pep517 -c "$pin" -e ".${EXTRAS}"; then
        say "note: this pip has no legacy editable install; installing a PEP 660 editable one,"
        say "  with which openmim (mim search/train/test/download) does not find mmattn;"
        say "  'pip install --no-build-isolation .' (not editable) makes mim work"
        "${PIP[@]}" install -q --no-build-isolation -c "$pin" -e ".${EXTRAS}"
    fi
    rm -f "$pin"
fi
# openmim without its declared dependencies (see MIM_RUNTIME_REQUIRE in setup.py):
# they would downgrade setuptools below what torch needs.
if [[ "$EXTRAS" == *tests* ]] && ! "$PY" -c "import mim" 2>/dev/null; then
    say "installing openmim 0.3.9 (--no-deps)"
    "${PIP[@]}" install -q --no-deps "openmim==0.3.9"
fi

# 4b. the pre-training extra only counts if its torchvision loads next to this torch.
if [[ "$EXTRAS" == *pretrain* ]] && ! err=$("$PY" -c "import mmattn.pretrain" 2>&1); then
    say "note: ImageNet pre-training is not available on this machine:"
    echo "$err" | tail -n 1 | sed 's/^/    /'
    say "  removing torchvision and mmpretrain again (detection is unaffected). On a GPU machine"
    say "  the registry's torchvision is the right one; on a CPU-only torch, point PIP_FIND_LINKS at"
    say "  a CPU build of torchvision $("$PY" -c "import torch; v=torch.__version__.split('.'); print(f'0.{int(v[1]) + 15}')")"
    "${PIP[@]}" uninstall -q -y torchvision mmpretrain || true
fi

# 5. the check that matters: mmcv's compiled ops load.
"$PY" - <<'PYEOF'
import sys
try:
    import mmcv.ops  # noqa: F401
    import mmattn  # noqa: F401
except Exception as e:  # noqa: BLE001
    sys.exit(f"[setup_env] error: mmcv's compiled ops do not load ({e}).\n"
             "  Fix: pip uninstall -y mmcv && MMCV_WITH_OPS=1 pip install --no-build-isolation "
             "'mmcv==2.1.0'\n  (torch must be installed first; a different torch than the one "
             "mmcv was built against also breaks them).")
print('[setup_env] ready: torch, mmcv (with ops), mmdet, mmattn')
PYEOF
