"""Helpers shared by mmattn's models: argument checks (``arguments``), tensor
functions (``functional``), activation checkpointing that keeps BatchNorm
statistics right (``activation_checkpoint``) and the backbones' compute layout
(``channels_last``)."""
from .activation_checkpoint import checkpoint_keeping_norm_stats, is_training_step
from .channels_last import as_nchw, in_compute_layout, init_channels_last

__all__ = ['as_nchw', 'checkpoint_keeping_norm_stats', 'in_compute_layout', 'is_training_step',
           'init_channels_last']
