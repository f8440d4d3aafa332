"""``torch.compile`` for a runner's steps, as the config's ``compile`` asks:
mmengine 0.10 compiles only ``train_step``; here the validation and test
steps too, each once, and ``compile=dict(modules=[...], **options)`` compiles
just those submodules instead of whole steps."""
from mmengine.model import is_model_wrapper

from mmattn.utils.compat import mmengine_compile_step


def compile_step(runner, target: str) -> None:
    """mmengine's ``compile`` for ``runner``'s ``target`` step (once), plus
    ``compile=dict(modules=[...], **options)``: compile just those submodules
    of the model (e.g. ``['backbone', 'neck']``), in place
    (``nn.Module.compile``: state-dict names unchanged), instead of the whole
    ``*_step``. A detector's step has data-dependent shapes, NMS and mmcv ops
    that break and recompile graphs; its backbone and neck are plain static
    convnets, where the FLOPs are."""
    compile_cfg = runner.cfg.get('compile', None)
    by_module = isinstance(compile_cfg, dict) and 'modules' in compile_cfg
    done = runner.__dict__.setdefault('_compiled_targets', set())
    key = 'modules' if by_module else target
    if key in done:  # e.g. val() after train(): the step is compiled already
        return
    done.add(key)
    if not by_module:
        return mmengine_compile_step(runner, target)
    options = {k: v for k, v in compile_cfg.items() if k != 'modules'}
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    names = list(compile_cfg['modules'])
    for name in names:
        try:
            module = model.get_submodule(name)
        except AttributeError:
            children = ', '.join(n for n, _ in model.named_children())
            raise ValueError(f'compile.modules: the model has no submodule {name!r}; '
                             f'its top-level modules are: {children}') from None
        module.compile(**options)
    runner.logger.info(f'torch.compile applied to {", ".join(names)} '
                       f'({options or "defaults"}); the first iterations compile and are slow.')
