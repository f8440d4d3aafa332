"""The attention-block factory: ``@attention_block(key)`` registers a block
class in mmengine's root ``MODELS`` registry (so every codebase's configs and
plugins find it) and in ``ATTENTION_BLOCKS`` under its short key, from which
``build_attention(key, in_channels)`` builds it. A block's file is named after
its key (``cbam.py``: ``'cbam'``), or its docstring says why not."""
from typing import Callable, Dict, Set, Type

import torch.nn as nn

from mmattn.registry import register

ATTENTION_BLOCKS: Dict[str, Type[nn.Module]] = {}
# Blocks that replace a convolution (they take out_channels and stride) rather
# than gate a feature map; out_channels defaults to in_channels.
CONV_REPLACING: Set[str] = set()


def attention_block(key: str, replaces_conv: bool = False) -> Callable[[Type], Type]:
    """Class decorator: register the block and list it under ``key``."""
    def decorate(cls: Type[nn.Module]) -> Type[nn.Module]:
        if key in ATTENTION_BLOCKS and ATTENTION_BLOCKS[key] is not cls:
            raise KeyError(f'attention block key {key!r} is taken by '
                           f'{ATTENTION_BLOCKS[key].__qualname__}')
        register(root=True)(cls)
        ATTENTION_BLOCKS[key] = cls
        if replaces_conv:
            CONV_REPLACING.add(key)
        return cls
    return decorate


def build_attention(name: str, in_channels: int, **kwargs) -> nn.Module:
    """Build the attention block called ``name`` on ``in_channels`` channels.
    Keyword arguments go to the block's constructor."""
    if name not in ATTENTION_BLOCKS:
        raise ValueError(f'build_attention: name={name!r} is unknown; valid names: '
                         f'{", ".join(sorted(ATTENTION_BLOCKS))}')
    return ATTENTION_BLOCKS[name](in_channels, **kwargs)
