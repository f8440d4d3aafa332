import os

import pytest
import torch

# Reproducible, and quiet: most tests build small models on 2 cores.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope='session', autouse=True)
def _mmdet_scope():
    """Stock mmdet behaviour: modules registered and 'mmdet' the default scope."""
    from mmdet.utils import register_all_modules
    import mmattn  # noqa: F401
    register_all_modules(init_default_scope=True)
