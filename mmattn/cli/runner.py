"""Building the runner the commands use, with mmattn's hooks."""
from mmengine.config import Config


def add_hook(cfg: Config, hook: dict) -> None:
    """Append ``hook`` to ``custom_hooks`` unless one of its type is there."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(h.get('type') == hook['type'] for h in hooks):
        hooks.append(hook)
    cfg.custom_hooks = hooks


def build_runner(cfg: Config):
    """``RUNNERS.build`` when the config names a ``runner_type``, else
    mmattn's ``SafeCheckpointRunner`` (atomic, weights_only-safe checkpoints)."""
    if 'runner_type' in cfg:
        from mmdet.registry import RUNNERS
        return RUNNERS.build(cfg)
    from mmattn.engine import SafeCheckpointRunner
    return SafeCheckpointRunner.from_cfg(cfg)
