"""Backbone speed side by side: inference (``model.eval()`` under
``torch.inference_mode``) and training steps of several backbones against a
reference, or each eager against ``torch.compile``, taking turns in every
round (``latency.time_interleaved``); medians and per-round ratios."""
import copy
import statistics
import time
from typing import List, Sequence

import torch
import torch.nn as nn

from .backbone_specs import build_backbone, spec_name
from .latency import sync_device, time_interleaved
from .steps import inference_step, training_step


def fuse_batch_norms(model: nn.Module) -> nn.Module:
    """mmcv's ``fuse_conv_bn`` (BN after a Conv2d folded into it), for inference."""
    from mmcv.cnn import fuse_conv_bn
    return fuse_conv_bn(model)


def _summary(rounds: List[float], reference: List[float]) -> dict:
    ratios = [t / r for t, r in zip(rounds, reference)]
    return dict(s=statistics.median(rounds), ratio=statistics.median(ratios),
                ratio_min=min(ratios), ratio_max=max(ratios))


def compare(specs: List, reference, batch: int, shape: Sequence[int], device: str,
            warmup=2, runs=9, iters=3, fuse_conv_bn: bool = False,
            inference_first: bool = True) -> List[dict]:
    """Inference and training-step timings of ``reference`` and each of
    ``specs``, interleaved round by round in one session: the median seconds
    and the median, min and max over rounds of the ratio to the reference in
    the same round, and the median minor page faults per iteration.
    ``fuse_conv_bn`` folds BNs into convs (every model,
    the reference too; copies, so training times the unfused models) for the
    inference timings.

    The phase order matters on CPUs, through the allocator: a process that has
    only run inference (as ``tools/test.py`` does) keeps mapping fresh pages
    for large tensors (glibc ``mmap``s blocks above its threshold; page faults,
    system time), while after training steps the heap has grown and inference
    reuses it without faults. ``inference_first`` (default) times inference in
    the first state, as a test run sees it; ``False`` times it after training.
    """
    dev = torch.device(device)
    x = torch.randn(batch, 3, *shape, device=dev)
    all_specs = [reference] + list(specs)
    models = []
    for spec in all_specs:
        torch.manual_seed(0)
        models.append(build_backbone(spec).to(dev))

    def time_inference():
        for m in models:
            m.eval()
        infer_models = [fuse_batch_norms(copy.deepcopy(m))
                        for m in models] if fuse_conv_bn else models
        return time_interleaved([inference_step(m, x) for m in infer_models], dev, warmup, runs,
                                iters,
                                infer_faults)

    def time_training():
        for m in models:
            m.train()
        return time_interleaved([training_step(m, x) for m in models], dev, warmup, runs, iters,
                                train_faults)

    infer_faults, train_faults = [], []
    if inference_first:
        infer = time_inference()
        train = time_training()
    else:
        train = time_training()
        infer = time_inference()
    rows = []
    for k, (spec, i, t) in enumerate(zip(all_specs, infer, train)):
        inf, tr = _summary(i, infer[0]), _summary(t, train[0])
        rows.append(dict(name=spec_name(spec),
                         infer_page_faults=statistics.median(infer_faults[k]),
                         train_page_faults=statistics.median(train_faults[k]),
                         infer_s=inf['s'], train_s=tr['s'], images_per_s=batch / inf['s'],
                         infer_ratio=inf['ratio'], infer_ratio_range=(
                             inf['ratio_min'], inf['ratio_max']),
                         train_ratio=tr['ratio'],
                         train_ratio_range=(tr['ratio_min'], tr['ratio_max'])))
    return rows


def compare_compiled(specs: List, batch: int, shape: Sequence[int], device: str,
                     warmup=2, runs=9, iters=3, compile_kwargs: dict = None) -> List[dict]:
    """Each backbone eager and ``torch.compile``-d (same module, same weights),
    all taking turns round by round: the median seconds of both and the median
    (min, max) over rounds of the speedup ``eager / compiled``, for training
    steps and for inference, plus the seconds the first compiled call of each
    took (tracing and code generation, a one-off cost)."""
    dev = torch.device(device)
    x = torch.randn(batch, 3, *shape, device=dev)
    eager, compiled = [], []
    for spec in specs:
        torch.manual_seed(0)
        model = build_backbone(spec).to(dev)
        eager.append(model)
        compiled.append(torch.compile(model, **(compile_kwargs or {})))
    rows = [dict(name=spec_name(spec)) for spec in specs]
    for phase, make_step in (('train', training_step), ('infer', inference_step)):
        for m in eager:
            m.train(phase == 'train')
        first_calls = []
        for m in compiled:  # the first call compiles; timed separately
            step = make_step(m, x)
            sync_device(dev)
            start = time.perf_counter()
            step()
            sync_device(dev)
            first_calls.append(time.perf_counter() - start)
        steps = [make_step(m, x) for pair in zip(eager, compiled) for m in pair]
        times = time_interleaved(steps, dev, warmup, runs, iters)
        for i, row in enumerate(rows):
            t_eager, t_compiled = times[2 * i], times[2 * i + 1]
            speedups = [e / c for e, c in zip(t_eager, t_compiled)]
            row.update({f'{phase}_eager_s': statistics.median(t_eager),
                        f'{phase}_compiled_s': statistics.median(t_compiled),
                        f'{phase}_speedup': statistics.median(speedups),
                        f'{phase}_speedup_range': (min(speedups), max(speedups)),
                        f'{phase}_compile_s': first_calls[i]})
    return rows
