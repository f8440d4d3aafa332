"""Helpers shared by mmattn's models: argument checks (``arguments``), tensor
functions (``functional``), channels-last handling (``memory_format``) and
activation checkpointing that keeps BatchNorm statistics right
(``activation_checkpoint``)."""
from .activation_checkpoint import checkpoint_keeping_norm_stats

__all__ = ['checkpoint_keeping_norm_stats']
