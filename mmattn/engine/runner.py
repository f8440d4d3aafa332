"""mmengine's Runner with checkpoints that are atomic and weights_only-safe."""
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.runner import Runner

from mmattn.registry import register
from .hooks import SafeCheckpointHook
from .safe_load import numpy_safe_globals


@register('RUNNERS', root=True)
class SafeCheckpointRunner(Runner):
    """A Runner whose checkpoints can be trusted:

    * each local checkpoint is written to ``NAME.part`` and renamed to ``NAME``
      once complete, so a process killed while saving leaves no half-written
      ``epoch_N.pth`` behind to be resumed from;
    * ``SafeCheckpointHook`` is always registered, so checkpoints load with
      torch >= 2.6's ``weights_only=True`` (on ``--resume`` too); checkpoints
      written by mmattn 0.1, which kept numpy arrays, load with numpy allowed for
      the duration of the load only.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not any(isinstance(h, SafeCheckpointHook) for h in self.hooks):
            self.register_hook(SafeCheckpointHook())

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        if '://' in str(out_dir):  # remote backends: leave to mmengine
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        partial = f'{filename}.part'
        super().save_checkpoint(out_dir, partial, *args, **kwargs)
        if is_main_process():  # mmengine writes checkpoints on rank 0 only
            os.replace(osp.join(out_dir, partial), osp.join(out_dir, filename))

    def load_checkpoint(self, *args, **kwargs):
        with numpy_safe_globals():
            return super().load_checkpoint(*args, **kwargs)

    def resume(self, *args, **kwargs) -> None:
        with numpy_safe_globals():
            return super().resume(*args, **kwargs)
