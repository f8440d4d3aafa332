"""mmengine's Runner with checkpoints written atomically."""
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.runner import Runner

from mmattn.registry import register


@register('RUNNERS')
class AtomicCheckpointRunner(Runner):
    """Writes each local checkpoint to ``NAME.part`` and renames it to ``NAME``
    only once complete, so a process killed while saving leaves no
    half-written ``epoch_N.pth`` behind to be resumed from."""

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        if '://' in str(out_dir):  # remote backends: leave to mmengine
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        partial = f'{filename}.part'
        super().save_checkpoint(out_dir, partial, *args, **kwargs)
        if is_main_process():  # mmengine writes checkpoints on rank 0 only
            os.replace(osp.join(out_dir, partial), osp.join(out_dir, filename))
