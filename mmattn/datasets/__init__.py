"""Dataset wrappers."""
from .epoch_seeded_dataset import EpochSeededDataset, set_data_epoch

__all__ = ['EpochSeededDataset', 'set_data_epoch']
