"""Reseed every random generator at the start of each training epoch."""
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.runner.utils import set_random_seed

from mmattn.registry import register


@register('HOOKS', root=True)
class EpochReseedHook(Hook):
    """Seeds Python, numpy and torch (CPU and CUDA) from ``seed + epoch`` (plus
    the rank if ``diff_rank_seed``) before each training epoch.

    mmengine checkpoints do not store generator states, so a run resumed at
    epoch k would otherwise draw different augmentations, samples and RoI
    choices than the uninterrupted run. With this hook, epoch k's random stream
    depends only on (seed, k): resuming from a checkpoint replays it exactly.
    """

    priority = 'VERY_HIGH'

    def __init__(self, seed: int = 0, diff_rank_seed: bool = False) -> None:
        self.seed = seed
        self.diff_rank_seed = diff_rank_seed

    def before_train_epoch(self, runner) -> None:
        seed = self.seed + runner.epoch
        if self.diff_rank_seed:
            seed += get_rank()
        set_random_seed(seed)
