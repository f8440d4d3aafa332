"""Checkpoints the run itself wrote: loadable with torch >= 2.6's
``weights_only=True`` default, and never half-written when picked for resume.

mmengine 0.10.7 pickles ``HistoryBuffer`` objects in every checkpoint's
``message_hub``, which reach ``getattr`` on load, and loads with a bare
``torch.load``; torch >= 2.6 refuses that (open-mmlab/mmengine#1655). Rather
than turning ``weights_only`` off (or allowing ``getattr``, which would let a
checkpoint call methods), mmattn saves those buffers as plain arrays
(``SafeCheckpointHook``) and allows numpy's array types, which the unpickler
can rebuild without running code.
"""
import glob
import os.path as osp
import re
import zipfile
from typing import Optional

import numpy as np
import torch


def _numpy_safe_globals() -> list:
    core = getattr(np, '_core', None) or np.core
    names = [np.ndarray, np.dtype, core.multiarray._reconstruct, core.multiarray.scalar]
    # numpy >= 1.25 pickles dtypes as their concrete classes (Float64DType ...).
    names += [type(np.dtype(t)) for t in ('float64', 'float32', 'int64', 'int32', 'bool')]
    return names


def allow_numpy_arrays() -> None:
    """Let ``torch.load(weights_only=True)`` rebuild numpy arrays and scalars."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch >= 2.4
        add(_numpy_safe_globals())


def is_complete_checkpoint(path: str) -> bool:
    """True if ``path`` is a whole torch zip checkpoint (central directory and
    every member's CRC intact); a file cut off mid-write fails this."""
    if not osp.isfile(path) or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def _step_of(path: str) -> int:
    match = re.search(r'(?:epoch|iter)_(\d+)\.pth$', osp.basename(path))
    return int(match.group(1)) if match else -1


def find_latest_valid_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to resume from: the one ``last_checkpoint`` names if it is
    complete, else the complete ``epoch_N.pth``/``iter_N.pth`` with the largest N."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8') as f:
            named = f.read().strip()
        if named and is_complete_checkpoint(named):
            return named
    candidates = sorted(glob.glob(osp.join(work_dir, '*_*.pth')), key=_step_of, reverse=True)
    for path in candidates:
        if _step_of(path) >= 0 and is_complete_checkpoint(path):
            return path
    return None
