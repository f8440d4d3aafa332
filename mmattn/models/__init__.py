"""mmattn's models: attention blocks and backbones, registered in mmdet's MODELS."""
from .backbones import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .layers import build_attention

__all__ = ['build_attention']
