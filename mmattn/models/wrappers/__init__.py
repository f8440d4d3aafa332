"""Wrappers that change a registered module from a config: ``WithAttention``
inserts attention blocks at any point of any backbone or neck."""
from .with_attention import WithAttentionMixin, with_attention

__all__ = ['WithAttentionMixin', 'with_attention']
