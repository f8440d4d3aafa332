"""mmengine's Runner with checkpoints that are atomic, durable and
weights_only-safe, and that refuses weights that do not fit its model."""
import os
import os.path as osp

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmattn.registry import register
from mmattn.utils.checkpoint import check_fit, state_dict_of
from mmattn.utils.staged_writes import publish
from .compile_steps import compile_step
from .hooks import SafeCheckpointHook


@register('RUNNERS', root=True)
class SafeCheckpointRunner(Runner):
    """A Runner whose checkpoints can be trusted:

    * each local checkpoint is written to ``NAME.part``, synced to the disk
      and renamed to ``NAME`` once complete, so neither a process killed while
      saving nor a power loss leaves a half-written ``epoch_N.pth`` behind to
      be resumed from (and a write that fails, on a full disk, say, removes
      its ``.part``);
    * a checkpoint given to ``load_from``, ``--resume`` or ``test.py`` must
      fit the model by ``check_fit``'s rule for what it is loaded for:
      fine-tuning in ``train()``, evaluation in ``val()``/``test()``, or
      resuming, or the run stops with one message saying what does not fit
      (``allow_partial_checkpoint=True`` in the config, ``--allow-partial``,
      accepts part of the model, except for resuming);
    * ``SafeCheckpointHook`` is always registered, so checkpoints load with
      torch >= 2.6's ``weights_only=True`` (on ``--resume`` too);
    * ``compile=True`` (or a dict of ``torch.compile`` options) in the config
      compiles the test and validation steps as well as the training step;
      ``compile=dict(modules=['backbone', 'neck'])`` compiles only those
      submodules (``compile_steps.compile_step``).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not any(isinstance(h, SafeCheckpointHook) for h in self.hooks):
            self.register_hook(SafeCheckpointHook())

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        if '://' in str(out_dir):  # remote backends: leave to mmengine
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        partial = f'{filename}.part'
        try:
            super().save_checkpoint(out_dir, partial, *args, **kwargs)
            if is_main_process():  # mmengine writes checkpoints on rank 0 only
                publish(osp.join(out_dir, partial), osp.join(out_dir, filename))
        finally:  # a failed write (a full disk) leaves no partial file holding the space
            if is_main_process() and osp.exists(osp.join(out_dir, partial)):
                os.remove(osp.join(out_dir, partial))

    def _maybe_compile(self, target: str) -> None:
        """mmengine calls this (a private method of its Runner, listed in
        ``mmattn/utils/compat.py``) before running a step: ``compile_step``."""
        compile_step(self, target)

    # What ``load_or_resume`` loads ``load_from`` for, by the entry point that
    # calls it (``resume`` always loads for resuming).
    _load_purpose = 'evaluate'

    def train(self):
        """mmengine's ``train``; with ``compile`` in the config the validation
        during training runs compiled too (mmengine compiles ``train_step``)."""
        compile_step(self, 'val_step')
        self._load_purpose = 'fine-tune'
        return super().train()

    def val(self) -> dict:
        """mmengine's ``val``, with ``compile`` (cfg) applied to ``val_step``
        too: mmengine 0.10 compiles only ``train_step``."""
        compile_step(self, 'val_step')
        return super().val()

    def test(self) -> dict:
        """mmengine's ``test``, with ``compile`` (cfg) applied to ``test_step``."""
        compile_step(self, 'test_step')
        return super().test()

    def load_checkpoint(self, filename: str, *args, **kwargs):
        checkpoint = super().load_checkpoint(filename, *args, **kwargs)
        purpose = self._load_purpose
        model = self.model.module if is_model_wrapper(self.model) else self.model
        what = '--resume checkpoint' if purpose == 'resume' else 'checkpoint'
        check_fit(model, state_dict_of(checkpoint), purpose=purpose, shown=f'{what} {filename!r}',
                  allow_partial=bool(self.cfg.get('allow_partial_checkpoint', False)))
        return checkpoint

    def resume(self, *args, **kwargs) -> None:
        purpose, self._load_purpose = self._load_purpose, 'resume'
        try:
            return super().resume(*args, **kwargs)
        finally:
            self._load_purpose = purpose


def add_hook(cfg: Config, hook: dict) -> None:
    """Append ``hook`` to ``custom_hooks`` unless one of its type is there."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(h.get('type') == hook['type'] for h in hooks):
        hooks.append(hook)
    cfg.custom_hooks = hooks


def build_runner(cfg: Config) -> Runner:
    """``RUNNERS.build`` when the config names a ``runner_type``, else
    ``SafeCheckpointRunner`` (atomic, weights_only-safe checkpoints)."""
    if 'runner_type' in cfg:
        from mmdet.registry import RUNNERS
        return RUNNERS.build(cfg)
    return SafeCheckpointRunner.from_cfg(cfg)
