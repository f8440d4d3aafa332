"""Checkpoint files that run code when loaded the unsafe way, for the tests
that check mmattn never does. Each payload's side effect is a file created at
a path the test chooses; ``assert_payload_works`` proves the effect happens
when the file is loaded unsafely, so a test that finds no effect means
something."""
import os
from typing import Dict, Tuple

import torch


class _WritesOnLoad(torch.nn.Module):
    """A scripted module whose ``__setstate__`` (run by ``torch.jit.load``)
    writes 4 bytes to the file named in its state, through ``torch.from_file``."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(2))
        self.target = target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight.sum()

    @torch.jit.export
    def __getstate__(self) -> Tuple[torch.Tensor, bool, str]:
        return (self.weight, self.training, self.target)

    @torch.jit.export
    def __setstate__(self, state: Tuple[torch.Tensor, bool, str]) -> None:
        marker = torch.from_file(state[2], shared=True, size=4, dtype=torch.uint8)
        marker.copy_(torch.tensor([80, 87, 78, 68], dtype=torch.uint8))
        # used below, so that the write is not optimised away
        self.weight = state[0] + marker.sum() * 0
        self.training = state[1]
        self.target = state[2]


class _Holder(torch.nn.Module):
    def __init__(self, target: str) -> None:
        super().__init__()
        self.inner = _WritesOnLoad(target)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


def torchscript_payload(path: str, target: str) -> str:
    """A TorchScript archive at ``path`` that creates ``target`` when loaded."""
    torch.jit.script(_Holder(target)).save(path)
    return path


class _Reduce:
    """A pickled object whose rebuilding creates ``target`` (``open(t, 'w')``)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, 'w'))


def reduce_payload(path: str, target: str, weights: Dict[str, torch.Tensor] = None) -> str:
    """A torch checkpoint at ``path`` holding ``weights`` (a state dict) and an
    object whose unpickling creates ``target``."""
    torch.save({'state_dict': dict(weights or {'w': torch.ones(2)}),
                'meta': {'payload': _Reduce(target)}}, path)
    return path


PAYLOADS = {'torchscript': torchscript_payload, 'reduce': reduce_payload}


def assert_payload_works(kind: str, path: str, target: str) -> None:
    """Load the payload file the unsafe way and check its effect happens
    (then undo it)."""
    if kind == 'torchscript':
        torch.jit.load(path)
    else:
        torch.load(path, weights_only=False)
    assert os.path.exists(target), f'the {kind} payload did not run when loaded unsafely'
    os.remove(target)
