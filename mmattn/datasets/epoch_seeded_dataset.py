"""Data augmentation that replays exactly after a resume, with persistent
data-loading workers too.

``EpochReseedHook`` reseeds the main process at each epoch, which covers
``num_workers=0``. Worker processes seed themselves once, when they start
(mmengine's ``worker_init_fn``); with ``persistent_workers=True`` they then
live for the whole run, so in epoch k their generators have advanced through
epochs 1..k-1 in an uninterrupted run but start afresh in a resumed one, and
the two draw different augmentations. This wrapper reseeds each worker from
(seed, epoch, rank, worker id) at the first sample it loads in an epoch,
whichever run it is in. The epoch reaches the workers through shared memory
set by the hook (``set_data_epoch``) before the epoch's iterator starts them.
"""
import multiprocessing
from typing import Any, Union

import torch
from mmengine.dist import get_rank
from mmengine.runner.utils import set_random_seed

from mmattn.registry import register

# Created at import in the main process, shared with workers it forks.
_EPOCH = multiprocessing.Value('q', -1, lock=False)


def set_data_epoch(epoch: int) -> None:
    """Tell the data-loading workers which epoch is starting."""
    _EPOCH.value = epoch


@register('DATASETS', root=True)
class EpochSeededDataset:
    """Wraps ``dataset`` (a dataset or its config); everything else is the
    wrapped dataset's (``metainfo``, ``get_data_info``, ...)."""

    def __init__(self, dataset: Union[dict, Any], seed: int = 0) -> None:
        if isinstance(dataset, dict):
            from mmengine.registry import DATASETS
            dataset = DATASETS.build(dataset)
        self.dataset = dataset
        self.seed = seed
        self._epoch_seen = None

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        worker = torch.utils.data.get_worker_info()
        epoch = _EPOCH.value
        if worker is not None and epoch != self._epoch_seen:
            self._epoch_seen = epoch
            set_random_seed(self.seed + 100003 * max(epoch, 0) + 1009 * get_rank() + worker.id)
        return self.dataset[index]

    def __getattr__(self, name: str):
        if name == 'dataset':  # not set yet (e.g. while unpickling)
            raise AttributeError(name)
        return getattr(self.dataset, name)
