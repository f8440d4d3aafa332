"""Helpers shared by mmattn's models: argument checks (``arguments``), tensor
functions (``functional``), and the backbones' speed switches, decided per
forward in ``forward_plan`` (activation checkpointing that keeps BatchNorm
statistics right: ``activation_checkpoint``; conv-BN folding at inference:
``conv_bn_folding``; channels-last computation)."""
from .activation_checkpoint import checkpoint_keeping_norm_stats
from .forward_plan import FastPathsMixin, ForwardPlan, plan_forward, run_block

__all__ = ['checkpoint_keeping_norm_stats', 'FastPathsMixin', 'ForwardPlan', 'plan_forward',
           'run_block']
