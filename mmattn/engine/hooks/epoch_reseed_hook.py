"""Reseed every random generator at the start of each training epoch."""
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.runner.utils import set_random_seed

from mmattn.datasets import set_data_epoch
from mmattn.registry import register


@register('HOOKS', root=True)
class EpochReseedHook(Hook):
    """Seeds Python, numpy and torch (CPU and CUDA) from ``seed + epoch`` (plus
    the rank if ``diff_rank_seed``) before each training epoch.

    mmengine checkpoints do not store generator states, so a run resumed at
    epoch k would otherwise draw different augmentations, samples and RoI
    choices than the uninterrupted run. With this hook, epoch k's random stream
    depends only on (seed, k): resuming from a checkpoint replays it exactly.

    The main process is reseeded once more before the epoch's first iteration:
    with persistent workers, creating the data iterator draws from the main
    generator in a resumed run's first epoch but not in the uninterrupted run's
    (which reuses its iterator). Workers are reseeded by ``EpochSeededDataset``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, seed: int = 0, diff_rank_seed: bool = False) -> None:
        self.seed = seed
        self.diff_rank_seed = diff_rank_seed

    def before_train_epoch(self, runner) -> None:
        set_random_seed(self._seed(runner))
        set_data_epoch(runner.epoch)  # for persistent workers: EpochSeededDataset

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if batch_idx == 0:
            set_random_seed(self._seed(runner) + 7919)

    def _seed(self, runner) -> int:
        return self.seed + runner.epoch + (get_rank() if self.diff_rank_seed else 0)
