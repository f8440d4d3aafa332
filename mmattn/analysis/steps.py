"""The steps a backbone measurement repeats: a training step (forward, a
scalar loss, backward) and an inference call."""
from typing import Callable

import torch
import torch.nn as nn


def training_loss(outputs) -> torch.Tensor:
    """The scalar the measurements back-propagate: the sum of the outputs' means."""
    outputs = outputs if isinstance(outputs, (tuple, list)) else [outputs]
    return sum(o.float().mean() for o in outputs)


def inference_step(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """One inference call of ``model`` on ``x`` (eval mode is the caller's)."""
    def step():
        with torch.inference_mode():
            model(x)
    return step


def training_step(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """One training step: gradients cleared, forward, ``training_loss``, backward."""
    params = [p for p in model.parameters() if p.requires_grad]

    def step():
        for p in params:
            p.grad = None
        training_loss(model(x)).backward()
    return step
