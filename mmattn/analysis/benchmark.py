"""Timing and memory measurements for backbones and detectors, meant to be run
side by side with a reference in the same process and session.

* inference: ``model.eval()`` under ``torch.inference_mode``, images/s;
* training step: forward, a scalar loss (sum of output means), backward;
* activation memory: bytes autograd keeps for backward (counted through
  saved-tensor hooks, storage-deduplicated), the memory ``with_cp`` trades for
  recomputation; peak memory: CUDA's allocator peak, or on CPU the growth of
  the kernel's resident high-water mark (``VmHWM``, reset just before) over one
  step, in a fresh subprocess.

Each figure is the median over ``runs`` timings of ``iters`` iterations, after
``warmup`` untimed iterations, the compared models taking turns in every round.
"""
import copy
import json
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Sequence

import torch
import torch.nn as nn

from .latency import sync_device, time_interleaved

# Backbone presets, identical norm settings for all: BN with batch statistics
# in training steps, nothing frozen. Spelt out for every preset, because the
# backbones' defaults differ (VoVNet's norm_eval is True by default).
_TRAINED_NORMS = dict(frozen_stages=-1, norm_eval=False)
PRESETS: Dict[str, dict] = {
    'resnet50': dict(type='ResNet', depth=50, **_TRAINED_NORMS),
    'epsanet50': dict(type='EPSANet', depth=50, **_TRAINED_NORMS),
    'epsanet101': dict(type='EPSANet', depth=101, **_TRAINED_NORMS),
    'vovnet19': dict(type='VoVNet', arch='V-19-eSE', **_TRAINED_NORMS),
    'vovnet39': dict(type='VoVNet', arch='V-39-eSE', **_TRAINED_NORMS),
    'vovnet57': dict(type='VoVNet', arch='V-57-eSE', **_TRAINED_NORMS),
}


def backbone_config(spec, **overrides) -> dict:
    """The config dict of a preset name or a config dict, with ``overrides``."""
    cfg = dict(PRESETS[spec]) if isinstance(spec, str) else dict(spec)
    cfg.update(overrides)
    cfg.pop('_name', None)  # a display name (see ``spec_name``), not an argument
    return cfg


def parse_spec(text: str):
    """A backbone spec from the command line: a preset name, a preset or config
    with overrides (``vovnet39@channels_last=False,with_cp=True``), a config
    path (its ``model.backbone``, ``init_cfg`` off; ``mmdet::...`` names a
    package's config) or ``module:factory``. Raises UsageError otherwise."""
    import os.path as osp

    from mmattn.utils.errors import UsageError
    if '@' in text:  # preset@key=value,key=value: a preset with overrides
        import ast
        name, _, overrides = text.partition('@')
        base = parse_spec(name)
        if isinstance(base, str) and ':' in base:
            raise UsageError(f'{text!r}: overrides apply to presets and configs only')
        cfg = backbone_config(base)
        for item in overrides.split(','):
            key, sep, value = item.partition('=')
            if not sep:
                raise UsageError(f'{text!r}: expected KEY=VALUE after "@", got {item!r}')
            try:
                cfg[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                cfg[key] = value
        cfg['_name'] = text
        return cfg
    if text.endswith('.py') and (osp.isfile(text) or '::' in text):
        import mmattn  # noqa: F401
        from mmattn.utils.config import load_config
        cfg = load_config(text).model.backbone.to_dict()
        cfg['init_cfg'] = None
        return cfg
    if ':' in text:
        return text
    if text not in PRESETS:
        raise UsageError(f'{text!r} is neither a config file nor one of {", ".join(PRESETS)}')
    return text


def spec_name(spec) -> str:
    """How a backbone spec is named in tables."""
    return spec if isinstance(spec, str) else spec.get('_name', spec.get('type'))


def build_backbone(spec) -> nn.Module:
    """``spec``: a preset name, a config dict, or ``'module.path:factory'``
    (any importable callable returning a module, e.g. an official model from a
    local clone on ``PYTHONPATH``)."""
    if isinstance(spec, str) and ':' in spec:
        import importlib
        module, _, factory = spec.partition(':')
        return getattr(importlib.import_module(module), factory)()
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import mmattn  # noqa: F401
    register_all_modules()
    return MODELS.build(backbone_config(spec))


def training_loss(outputs) -> torch.Tensor:
    outputs = outputs if isinstance(outputs, (tuple, list)) else [outputs]
    return sum(o.float().mean() for o in outputs)


def saved_activation_bytes(model: nn.Module, inputs: torch.Tensor) -> int:
    """Bytes of tensors autograd saves for backward during one forward."""
    model.train()
    seen, total = set(), [0]

    def pack(t):
        try:
            key = (t.untyped_storage().data_ptr(), t.device)
        except (RuntimeError, NotImplementedError):
            key = (id(t), t.device)
        if key not in seen:
            seen.add(key)
            total[0] += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = training_loss(model(inputs))
    loss.backward()
    return total[0]


def resident_bytes(peak: bool = False) -> int:
    """The process's resident set (``VmRSS``) or its high-water mark
    (``VmHWM``) from ``/proc/self/status``, in bytes (Linux)."""
    key = 'VmHWM:' if peak else 'VmRSS:'
    with open('/proc/self/status', encoding='ascii') as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'{key} not found in /proc/self/status')


def reset_peak_resident() -> None:
    """Reset the kernel's resident high-water mark to the current resident set
    (``echo 5 > /proc/self/clear_refs``, Linux >= 4.0), so that ``VmHWM``
    afterwards is the peak of what follows: exact, unlike sampling."""
    with open('/proc/self/clear_refs', 'w', encoding='ascii') as f:
        f.write('5')


def peak_train_memory_bytes(spec, batch: int, shape: Sequence[int], device: str,
                            overrides: dict = None) -> int:
    """Peak memory of one training step beyond what the model and input hold.
    CUDA: allocator peak in this process; CPU (Linux): the growth of the
    resident set's high-water mark over the step, in a fresh subprocess."""
    cfg = backbone_config(spec, **(overrides or {}))
    if device.startswith('cuda'):
        model = build_backbone(cfg).to(device)
        model.train()
        x = torch.randn(batch, 3, *shape, device=device)
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        training_loss(model(x)).backward()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    code = (
        'import json, sys, torch\n'
        'from mmattn.analysis.benchmark import (build_backbone, training_loss, resident_bytes,\n'
        '                                       reset_peak_resident)\n'
        'cfg, batch, shape = json.loads(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])\n'
        'model = build_backbone(cfg)\n'
        'model.train()  # not chained: mmdet ResNet.train returns None\n'
        'x = torch.randn(batch, 3, *shape)\n'
        'base = resident_bytes()\n'
        'reset_peak_resident()\n'
        'training_loss(model(x)).backward()\n'
        'print(json.dumps(resident_bytes(peak=True) - base))\n')
    out = subprocess.run([sys.executable, '-c', code, json.dumps(cfg), str(batch),
                          json.dumps(list(shape))],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f'the memory measurement of {cfg} failed:\n{out.stderr[-3000:]}')
    return int(json.loads(out.stdout.strip().splitlines()[-1]))


def _infer_step(model, x):
    def step():
        with torch.inference_mode():
            model(x)
    return step


def _train_step(model, x):
    params = [p for p in model.parameters() if p.requires_grad]

    def step():
        for p in params:
            p.grad = None
        training_loss(model(x)).backward()
    return step


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
        return time_interleaved([_infer_step(m, x) for m in infer_models], dev, warmup, runs,
                                iters,
                                infer_faults)

    def time_training():
        for m in models:
            m.train()
        return time_interleaved([_train_step(m, x) for m in models], dev, warmup, runs, iters,
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
    for phase, make_step in (('train', _train_step), ('infer', _infer_step)):
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


def build_detector(config_path: str) -> nn.Module:
    from mmattn.models.builder import build_model_from_config
    from mmattn.utils.config import load_config
    return build_model_from_config(load_config(config_path), pretrained=False)


def detector_train_step(model: nn.Module, batch: int, shape: Sequence[int], seed=0):
    """A callable running one full training iteration (data preprocessing,
    losses, backward) on a fixed synthetic batch with boxes and masks."""
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(seed)
    has_mask = hasattr(model, 'roi_head') and getattr(model.roi_head, 'with_mask', False)
    head = model.roi_head.bbox_head if hasattr(model, 'roi_head') else model.bbox_head
    packed = demo_mm_inputs(batch_size=batch, image_shapes=[(3, *shape)] * batch,
                            num_items=[8] * batch, num_classes=head.num_classes,
                            with_mask=has_mask)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]

    def step():
        torch.manual_seed(seed)  # same RoI sampling in every run and model
        for p in params:
            p.grad = None
        data = model.data_preprocessor(packed, True)
        loss, _ = model.parse_losses(model(**data, mode='loss'))
        loss.backward()
    return step


def compare_detectors(models: List[nn.Module], batch: int, shape: Sequence[int],
                      warmup=1, runs=3, iters=2) -> List[float]:
    """Median seconds of one training iteration of each detector, interleaved."""
    steps = [detector_train_step(m, batch, shape) for m in models]
    return [statistics.median(t) for t in time_interleaved(steps, torch.device('cpu'), warmup,
                                                           runs,
                                                           iters)]
