"""Finding the checkpoint to resume from: complete files only (a file cut off
while being written is never picked), and setting a config up for
``--resume``. Reading checkpoints: ``mmattn/utils/checkpoint.py``."""
import glob
import os.path as osp
import re
from typing import Optional

from mmengine.config import Config
from mmengine.logging import print_log

from mmattn.utils.checkpoint import is_complete_checkpoint


def _step_of(path: str) -> int:
    match = re.fullmatch(r'(?:epoch|iter)_(\d+)\.pth', osp.basename(path))
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


def resume_from(cfg: Config, resume: Optional[str]) -> Optional[str]:
    """Set ``cfg`` up for ``--resume`` (``'auto'``: the latest complete
    checkpoint of its work dir, or a path); returns the checkpoint it will
    load, or None (no ``--resume``, or nothing to resume from yet)."""
    if resume is None:
        return None
    if resume == 'auto':
        path = find_latest_valid_checkpoint(cfg.work_dir)
        if path is None:
            print_log(f'--resume: no complete checkpoint in {cfg.work_dir}; starting from scratch',
                      logger='current')
            return None
    else:
        path = resume
    cfg.resume = True
    cfg.load_from = path
    return path
