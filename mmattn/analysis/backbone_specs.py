"""Which backbone a measurement builds: preset names, presets with overrides,
config files and ``module:factory`` names, as the benchmark command reads
them (``parse_spec``), and the one builder (``build_backbone``)."""
from typing import Dict

import torch.nn as nn

# Backbone presets, identical norm settings for all: BN with batch statistics
# in training steps, nothing frozen. Spelt out for every preset, because the
# backbones' defaults differ (VoVNet's norm_eval is True by default).
_TRAINED_NORMS = dict(frozen_stages=-1, norm_eval=False)
PRESETS: Dict[str, dict] = {
    'resnet50': dict(type='ResNet', depth=50, **_TRAINED_NORMS),
    'epsanet50': dict(type='EPSANet', depth=50, **_TRAINED_NORMS),
    'epsanet101': dict(type='EPSANet', depth=101, **_TRAINED_NORMS),
    'vovnet19': dict(type='VoVNet', arch='V-19-eSE', **_TRAINED_NORMS),
    'vovnet39': dict(type='VoVNet', arch='V-39-eSE', **_TRAINED_NORMS),
    'vovnet57': dict(type='VoVNet', arch='V-57-eSE', **_TRAINED_NORMS),
}


def backbone_config(spec, **overrides) -> dict:
    """The config dict of a preset name or a config dict, with ``overrides``."""
    cfg = dict(PRESETS[spec]) if isinstance(spec, str) else dict(spec)
    cfg.update(overrides)
    cfg.pop('_name', None)  # a display name (see ``spec_name``), not an argument
    return cfg


def parse_spec(text: str):
    """A backbone spec from the command line: a preset name, a preset or config
    with overrides (``vovnet39@channels_last=False,with_cp=True``), a config
    path (its ``model.backbone``, ``init_cfg`` off; ``mmdet::...`` names a
    package's config) or ``module:factory``. Raises UsageError otherwise."""
    import os.path as osp

    from mmattn.utils.errors import UsageError
    if '@' in text:  # preset@key=value,key=value: a preset with overrides
        import ast
        name, _, overrides = text.partition('@')
        base = parse_spec(name)
        if isinstance(base, str) and ':' in base:
            raise UsageError(f'{text!r}: overrides apply to presets and configs only')
        cfg = backbone_config(base)
        for item in overrides.split(','):
            key, sep, value = item.partition('=')
            if not sep:
                raise UsageError(f'{text!r}: expected KEY=VALUE after "@", got {item!r}')
            try:
                cfg[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                cfg[key] = value
        cfg['_name'] = text
        return cfg
    if text.endswith('.py') and (osp.isfile(text) or '::' in text):
        import mmattn  # noqa: F401
        from mmattn.utils.config import load_config
        cfg = load_config(text).model.backbone.to_dict()
        cfg['init_cfg'] = None
        return cfg
    if ':' in text:
        return text
    if text not in PRESETS:
        raise UsageError(f'{text!r} is neither a config file nor one of {", ".join(PRESETS)}')
    return text


def spec_name(spec) -> str:
    """How a backbone spec is named in tables."""
    return spec if isinstance(spec, str) else spec.get('_name', spec.get('type'))


def build_backbone(spec) -> nn.Module:
    """``spec``: a preset name, a config dict, or ``'module.path:factory'``
    (any importable callable returning a module, e.g. an official model from a
    local clone on ``PYTHONPATH``)."""
    if isinstance(spec, str) and ':' in spec:
        import importlib
        module, _, factory = spec.partition(':')
        return getattr(importlib.import_module(module), factory)()
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import mmattn  # noqa: F401
    register_all_modules()
    return MODELS.build(backbone_config(spec))
