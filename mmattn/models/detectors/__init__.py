"""Detectors: CenterMask."""
from .centermask import CenterMask

__all__ = ['CenterMask']
