"""Building a model from a config: the one place mmattn does it (the
pre-flight, the analysis and deployment tools, the converters)."""
import copy

import torch.nn as nn
from mmengine.config import Config


def build_model_from_config(cfg: Config, part: str = 'model',
                            pretrained: bool = True) -> nn.Module:
    """``cfg.<part>`` (``'model'`` or e.g. ``'model.backbone'``) built on the
    CPU in the config's default scope (mmdet unless it names another), with
    mmattn's and mmdet's modules registered; the weights are not initialised
    (``init_weights`` is not called). ``pretrained=False`` drops the
    backbone's ``init_cfg``, for a model whose weights come from a
    checkpoint next, or are not needed (timings, FLOPs). Registry and
    argument mistakes raise as mmengine and the classes raise them."""
    from mmengine.registry import MODELS, init_default_scope

    from mmattn.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    node = cfg
    for name in part.split('.'):
        node = node[name]
    node = copy.deepcopy(node)
    if not pretrained:
        backbone = node.get('backbone') if part == 'model' else node
        if isinstance(backbone, dict):
            backbone['init_cfg'] = None
    return MODELS.build(node)
