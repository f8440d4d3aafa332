"""Helpers shared by mmattn's models."""
from .activation_checkpoint import checkpoint_keeping_norm_stats

__all__ = ['checkpoint_keeping_norm_stats']
