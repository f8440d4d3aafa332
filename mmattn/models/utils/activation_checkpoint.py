"""Activation checkpointing that updates BatchNorm statistics once per step.

``torch.utils.checkpoint`` runs the forward a second time during backward; in
train mode every BatchNorm inside then updates its running mean/var (and
``num_batches_tracked``) a second time, so a ``with_cp`` model ends a step with
other statistics than the same model without it. Here the recomputation runs
with those buffers saved before and put back after: the statistics are the
plain forward's, exactly.
"""
import contextlib
from typing import Callable, Iterator

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from torch.nn.modules.batchnorm import _BatchNorm


def is_training_step(module: nn.Module) -> bool:
    """Whether this call of ``module`` is a training step (train mode, autograd
    on): when a ``with_cp`` module checkpoints. Unlike mmdet's blocks, which
    also need an input that requires grad (their reentrant checkpoint does), a
    block after frozen stages is checkpointed too: the non-reentrant
    checkpoint used here handles inputs without grad."""
    return module.training and torch.is_grad_enabled()


@contextlib.contextmanager
def _norm_stats_restored(module: nn.Module) -> Iterator[None]:
    saved = [(m, {name: buf.clone() for name, buf in m.named_buffers(recurse=False)})
             for m in module.modules()
             if isinstance(m, _BatchNorm) and m.training and m.track_running_stats]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, buffers in saved:
                for name, value in buffers.items():
                    getattr(m, name).copy_(value)


def checkpoint_keeping_norm_stats(function: Callable, *args, module: nn.Module):
    """``torch.utils.checkpoint.checkpoint(function, *args)`` (non-reentrant),
    with the BatchNorm statistics of ``module`` (the one ``function`` runs)
    left by the recomputation as the first forward left them.

    Under ``torch.compile`` the plain checkpoint is used: AOTAutograd
    functionalises the buffer updates and applies them once, in the forward
    graph, so the recomputation cannot touch them (and dynamo does not trace a
    custom ``context_fn``)."""
    if torch.compiler.is_compiling():
        return cp.checkpoint(function, *args, use_reentrant=False)
    return cp.checkpoint(function, *args, use_reentrant=False,
                         context_fn=lambda: (contextlib.nullcontext(),
                                             _norm_stats_restored(module)))
