"""Export the backbone of a detector config to ONNX and check it:
``export_backbone_onnx.py CONFIG CHECKPOINT OUT.onnx [--dynamic] [--shape H W]
[--batch N] [--opset N] [--benchmark ROUNDS] [--cfg-options ...]``.

The backbone (weights from CHECKPOINT, eval mode) is exported with torch's
TorchScript exporter; onnxruntime then runs the file on two inputs (with
``--dynamic`` of two sizes and batches) and the largest relative difference
to PyTorch is printed. If the export fails, each attention block is exported
on its own to say which one cannot be and why. ``--benchmark`` times
onnxruntime against PyTorch on the export shape, taking turns.
"""
import argparse
import sys
from typing import List, Optional

from mmattn.utils.errors import UsageError
from .command import (CommandParser, add_allow_partial, add_cfg_options, add_config_and_checkpoint,
                      non_negative_int, positive_float, positive_int, run_command)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='export_backbone_onnx',
                           description="Export a detector config's backbone to ONNX")
    add_config_and_checkpoint(parser, "checkpoint file (or URL) with the backbone weights; "
                                      "'none': the config's initialisation without "
                                      "pretrained weights (timings, export checks)")
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--dynamic', action='store_true',
                        help='make batch, height and width symbolic')
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 512], metavar=('H', 'W'),
                        help='input height and width for the export (default 512 512)')
    parser.add_argument('--batch', type=positive_int, default=1, help='batch size for the export')
    parser.add_argument('--opset', type=int, default=None, help='ONNX opset (default 17)')
    parser.add_argument('--rtol', type=positive_float, default=1e-4,
                        help='fail when onnxruntime differs from PyTorch by more than this, '
                             'relative to the largest output value (default 1e-4)')
    parser.add_argument('--benchmark', type=non_negative_int, default=0, metavar='ROUNDS',
                        help='also time onnxruntime against PyTorch for ROUNDS rounds')
    add_cfg_options(parser)
    add_allow_partial(parser, 'export')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing OUT that mmattn did not export')
    return parser


def _check_args(args: argparse.Namespace) -> int:
    from mmattn.deployment.backbone_onnx import DEFAULT_OPSET, supported_opsets
    from mmattn.deployment.onnx_files import check_onnx_output
    check_onnx_output(args.out, args.overwrite)
    if min(args.shape) < 32 or args.batch < 1:
        raise UsageError(f'--shape {args.shape} --batch {args.batch}: height and width must be '
                         '>= 32 (the backbones stride 32) and batch >= 1')
    opset = DEFAULT_OPSET if args.opset is None else args.opset
    low, high = supported_opsets()
    if not low <= opset <= high:
        raise UsageError(f'--opset {opset} is not one torch\'s TorchScript exporter writes; '
                         f'valid: {low}..{high}')
    return opset


def _benchmark(backbone, onnx_file: str, shape, rounds: int) -> None:
    import onnxruntime as ort
    import torch

    from mmattn.analysis.latency import alternating_latency, print_latency
    session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    x = torch.randn(*shape)
    feed = {'input': x.numpy()}

    def run_torch():
        with torch.inference_mode():
            backbone(x)

    times = alternating_latency({'PyTorch': run_torch,
                                 'onnxruntime': lambda: session.run(None, feed)}, rounds)
    print_latency(times, 'backbone latency')


def run(args: argparse.Namespace) -> int:
    import torch

    from mmattn.deployment.backbone_onnx import (compare_with_onnxruntime, export_module,
                                                 second_shape, unexportable_blocks)
    from .detector_loading import load_detector
    opset = _check_args(args)
    checkpoint = None if args.checkpoint == 'none' else args.checkpoint
    model = load_detector(args.config, checkpoint, args.cfg_options, 'cpu', purpose='export',
                          allow_partial=args.allow_partial)
    backbone = model.backbone
    backbone.eval()  # (mmdet's ResNet.train returns None: no chaining)
    shape = (args.batch, 3, *args.shape)
    try:
        names = export_module(backbone, args.out, shape, args.dynamic, opset)
    except Exception:  # noqa: BLE001  (re-raised below unless a block is to blame)
        failures = unexportable_blocks(backbone, shape, args.dynamic, opset)
        if not failures:
            raise
        for path, cls, reason in failures:
            print(f'export_backbone_onnx: error: block {path} ({cls}) cannot be exported '
                  f'with opset {opset}: {reason}', file=sys.stderr)
        print(f'export_backbone_onnx: nothing written to {args.out}', file=sys.stderr)
        return 1
    kind = 'batch, height and width symbolic' if args.dynamic else 'static shape'
    print(f'export_backbone_onnx: wrote {args.out} ({type(backbone).__name__}, opset {opset}, '
          f'{kind}; outputs {", ".join(names)})')
    shapes = [shape, second_shape(shape, args.dynamic)]
    worst = 0.0
    for check in compare_with_onnxruntime(backbone, args.out, shapes):
        print(f'  onnxruntime vs PyTorch at {"x".join(map(str, check.shape))}: '
              f'max abs diff {check.max_abs_diff:.3g}, max relative diff {check.max_rel_diff:.3g}')
        worst = max(worst, check.max_rel_diff)
    print(f'  largest relative difference: {worst:.3g}')
    if args.benchmark:
        torch.manual_seed(0)
        _benchmark(backbone, args.out, shape, args.benchmark)
    if worst > args.rtol:
        print(f'export_backbone_onnx: error: onnxruntime differs from PyTorch by {worst:.3g} '
              f'> --rtol {args.rtol}', file=sys.stderr)
        return 1
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """The ``export_backbone_onnx`` command."""
    return run_command('export_backbone_onnx', run, build_parser().parse_args(argv))
