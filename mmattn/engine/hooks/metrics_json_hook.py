"""Write evaluation metrics as JSON files in the work dir."""
import json
import os.path as osp
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop

from mmattn.registry import register
from mmattn.utils.staged_writes import staged_file


def _plain(value):
    """numpy and torch values as JSON numbers/lists."""
    if isinstance(value, (np.generic, np.ndarray, torch.Tensor)):
        return value.tolist()
    raise TypeError(f'{type(value).__name__} is not JSON serialisable')


def write_json_atomic(path: str, data: dict) -> None:
    with staged_file(path) as partial:
        with open(partial, 'w', encoding='utf-8') as f:
            json.dump(data, f, indent=2, sort_keys=True, default=_plain)


@register('HOOKS', root=True)
class MetricsJSONHook(Hook):
    """After each validation, ``val_metrics.json`` (latest) and
    ``val_metrics_{epoch|iter}_N.json``; after a test, ``test_metrics.json``.
    Each holds the evaluator's metrics (e.g. ``coco/bbox_mAP_50``)."""

    priority = 'LOW'

    def _write(self, runner, name: str, metrics: Optional[Dict[str, float]]) -> None:
        if not metrics or not is_main_process():
            return
        write_json_atomic(osp.join(runner.work_dir, name), dict(metrics))

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        by_iter = isinstance(runner.train_loop, IterBasedTrainLoop)
        step = f'iter_{runner.iter}' if by_iter else f'epoch_{runner.epoch}'
        self._write(runner, f'val_metrics_{step}.json', metrics)
        self._write(runner, 'val_metrics.json', metrics)

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        self._write(runner, 'test_metrics.json', metrics)
