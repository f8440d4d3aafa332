"""Speed and memory of backbones, side by side with a reference in the same run
(``tools/analysis_tools/benchmark.py``):

    # EPSANet-50 and VoVNet-39 vs mmdet's ResNet-50, batch 2, 3x512x512, CPU
    python tools/analysis_tools/benchmark.py epsanet50 vovnet39 --batch 2 --shape 512 512
    # the memory with_cp saves, at 2x3x800x1333
    python tools/analysis_tools/benchmark.py epsanet50 vovnet39 --with-cp-memory --shape 800 1333
    # a config's backbone
    python tools/analysis_tools/benchmark.py configs/vovnet/mask_rcnn_vovnet39_coco.py
    # whole detectors: one training iteration, vs mmdet's Mask R-CNN R-50-FPN
    python tools/analysis_tools/benchmark.py configs/epsanet/mask_rcnn_epsa50_coco.py --detectors
    # torch.compile (inductor) against eager, each backbone both ways in one run
    python tools/analysis_tools/benchmark.py resnet50 epsanet50 vovnet39 --compile

Backbones are what ``mmattn.analysis.backbone_specs.parse_spec`` reads: preset
names (resnet50, epsanet50, epsanet101, vovnet19, vovnet39, vovnet57),
optionally with overrides (``vovnet39@channels_last=False,with_cp=True``),
config paths (``mmdet::...`` names mmdet's own), or ``module:factory`` for any
importable model, e.g. the official EPSANet from a local clone:

    PYTHONPATH=/path/to/EPSANet python tools/analysis_tools/benchmark.py \
        models.epsanet:epsanet50 epsanet50
"""
import argparse
from typing import List, Optional

import torch

from mmattn.analysis.backbone_specs import backbone_config, build_backbone, parse_spec, spec_name
from mmattn.analysis.backbone_timing import compare, compare_compiled
from mmattn.analysis.detector_timing import build_detector, compare_detectors
from mmattn.analysis.machine import machine_line
from mmattn.analysis.memory import peak_train_memory_bytes, saved_activation_bytes
from .command import CommandParser, positive_int, run_command


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='benchmark', description=__doc__.splitlines()[0])
    parser.add_argument('backbones', nargs='+')
    parser.add_argument('--reference', default='resnet50')
    parser.add_argument('--batch', type=positive_int, default=2)
    parser.add_argument('--shape', type=positive_int, nargs=2, default=[512, 512],
                        metavar=('H', 'W'))
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--runs', '--rounds', type=positive_int, default=9,
                        help='rounds of interleaved timing (median and spread reported)')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='fold BNs into convs for the inference timings (every model)')
    parser.add_argument('--iters', type=positive_int, default=3)
    parser.add_argument('--inference-after-training', action='store_true',
                        help='time inference after the training phase (the heap training grew is '
                             'reused: no page faults) instead of first, as tools/test.py runs it')
    parser.add_argument('--detectors', action='store_true',
                        help='positional arguments are detector configs; time a whole training '
                             'iteration against --reference-config')
    parser.add_argument('--reference-config',
                        default='mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
                        help="with --detectors: the reference detector ('mmdet::...' allowed)")
    parser.add_argument('--with-cp-memory', action='store_true',
                        help='instead of timings: training memory with and without with_cp')
    parser.add_argument('--compile', action='store_true',
                        help='instead of the reference comparison: each backbone eager vs '
                             'torch.compile (default inductor), interleaved')
    return parser


def run(args: argparse.Namespace) -> int:
    h, w = args.shape
    if args.detectors:
        return _detectors(args)
    specs = [parse_spec(b) for b in args.backbones]
    print(f'{machine_line()}; device {args.device}, batch {args.batch}, input 3x{h}x{w}, '
          f'{args.runs} rounds x {args.iters} iterations'
          f'{", conv-BN fused for inference" if args.fuse_conv_bn else ""}'
          f'{", inference timed after training" if args.inference_after_training else ""}')
    if args.compile:
        return _compiled(args, specs)
    if args.with_cp_memory:
        return _with_cp_memory(args, specs)
    rows = compare(specs, parse_spec(args.reference), args.batch, args.shape,
                   args.device, args.warmup, args.runs, args.iters, args.fuse_conv_bn,
                   inference_first=not args.inference_after_training)
    print('| backbone | inference (images/s) | inference (ms/batch) | train step (ms) | '
          'inference ratio (min-max) | train ratio (min-max) | page faults per inference / step |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    for r in rows:
        (i_lo, i_hi), (t_lo, t_hi) = r['infer_ratio_range'], r['train_ratio_range']
        print(f"| {r['name']} | {r['images_per_s']:.2f} | {1e3 * r['infer_s']:.0f} | "
              f"{1e3 * r['train_s']:.0f} | {r['infer_ratio']:.2f}x ({i_lo:.2f}-{i_hi:.2f}) | "
              f"{r['train_ratio']:.2f}x ({t_lo:.2f}-{t_hi:.2f}) | "
              f"{r['infer_page_faults']:.0f} / {r['train_page_faults']:.0f} |")
    return 0


def _with_cp_memory(args: argparse.Namespace, specs) -> int:
    print('| backbone | peak train memory (MB) | with_cp=True (MB) | saving | '
          'saved activations (MB) | with_cp=True (MB) |')
    print('| --- | ---: | ---: | ---: | ---: | ---: |')
    x = torch.randn(args.batch, 3, *args.shape, device=args.device)
    for spec in specs:
        peaks, acts = [], []
        for cp in (False, True):
            peaks.append(peak_train_memory_bytes(spec, args.batch, args.shape, args.device,
                                                 dict(with_cp=cp)))
            model = build_backbone(backbone_config(spec, with_cp=cp)).to(args.device)
            acts.append(saved_activation_bytes(model, x))
            del model
        print(f'| {spec_name(spec)} | {peaks[0] / 2**20:.0f} | {peaks[1] / 2**20:.0f} | '
              f'{100 * (1 - peaks[1] / peaks[0]):.0f}% | {acts[0] / 2**20:.0f} | '
              f'{acts[1] / 2**20:.0f} |')
    return 0


def _compiled(args: argparse.Namespace, specs) -> int:
    rows = compare_compiled(specs, args.batch, args.shape, args.device, args.warmup,
                            args.runs, args.iters)
    print('| backbone | train eager (ms) | train compiled (ms) | train speedup (min-max) | '
          'inference eager (ms) | inference compiled (ms) | inference speedup (min-max) | '
          'first compiled calls (s) |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for r in rows:
        cells = []
        for phase in ('train', 'infer'):
            lo, hi = r[f'{phase}_speedup_range']
            cells.append(f"{1e3 * r[f'{phase}_eager_s']:.0f} | "
                         f"{1e3 * r[f'{phase}_compiled_s']:.0f} | "
                         f"{r[f'{phase}_speedup']:.2f}x ({lo:.2f}-{hi:.2f})")
        print(f"| {r['name']} | {' | '.join(cells)} | "
              f"{r['train_compile_s']:.0f} + {r['infer_compile_s']:.0f} |")
    return 0


def _detectors(args: argparse.Namespace) -> int:
    h, w = args.shape
    print(f'{machine_line()}; batch {args.batch}, input 3x{h}x{w}, one training iteration')
    print('| detector | train iteration (ms) | ratio |')
    print('| --- | ---: | ---: |')
    paths = [args.reference_config] + list(args.backbones)
    models = [build_detector(path) for path in paths]
    times = compare_detectors(models, args.batch, args.shape, args.warmup, args.runs,
                              args.iters)
    for name, t in zip(paths, times):
        print(f'| {name} | {1e3 * t:.0f} | {t / times[0]:.2f}x |')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """The ``benchmark`` command."""
    return run_command('benchmark', run, build_parser().parse_args(argv))
