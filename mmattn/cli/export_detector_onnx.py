"""Export a whole detector to ONNX and check it against PyTorch
(``tools/deployment/export_detector_onnx.py``):

    python tools/deployment/export_detector_onnx.py CONFIG CHECKPOINT OUT.onnx \
        [--shape H W] [--dynamic] [--opset N] [--score-thr S] [--max-per-img K] \
        [--benchmark ROUNDS] [--image IMG] [--cfg-options ...]

The file takes ``input`` (the normalised, padded batch the config's data
preprocessor makes) and gives ``dets``, ``labels`` (and ``masks``,
``mask_scores``): see ``mmattn/deployment/detector_onnx.py``. ``CHECKPOINT``
may be ``none`` (the config's initialisation, for export checks and timings).
``--score-thr`` and ``--max-per-img`` override the config's test settings
(every stage's). After writing, onnxruntime runs the file on a random input
(with ``--dynamic`` on two sizes and batches) and its detections are compared
with the PyTorch export wrapper's. ``--benchmark`` times image to detections
(``OnnxDetector`` against mmdet's ``inference_detector``, batch 1) with the
two taking turns.
"""
import argparse
from typing import List, Optional

from .command import (CommandParser, add_allow_partial, add_cfg_options, add_config_and_checkpoint,
                      non_negative_int, positive_float, positive_int, run_command)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='export_detector_onnx',
                           description='Export a whole detector to ONNX (standard operators)')
    add_config_and_checkpoint(parser, "checkpoint file (or URL); 'none': the config's "
                                      'initialisation without pretrained weights')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--shape', type=positive_int, nargs=2, default=[800, 1344],
                        metavar=('H', 'W'), help='input height and width (default 800 1344)')
    parser.add_argument('--batch', type=positive_int, default=1, help='batch of the export')
    parser.add_argument('--dynamic', action='store_true',
                        help='make batch, height and width symbolic')
    parser.add_argument('--opset', type=positive_int, default=None, help='ONNX opset (default 17)')
    parser.add_argument('--score-thr', type=float, default=None,
                        help="override the config's test score threshold")
    parser.add_argument('--max-per-img', type=positive_int, default=None,
                        help="override the config's detections per image")
    parser.add_argument('--benchmark', type=non_negative_int, default=0, metavar='ROUNDS',
                        help='time image to detections, onnxruntime and PyTorch taking turns')
    parser.add_argument('--image', help='the image --benchmark uses (default: a random one at '
                                        '--shape)')
    parser.add_argument('--atol', type=positive_float, default=1e-3,
                        help='fail when a detection differs from PyTorch by more than this '
                             '(box pixels, score)')
    add_cfg_options(parser)
    add_allow_partial(parser, 'export')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing OUT that mmattn did not export')
    return parser


def _compare(wrapper, onnx_file: str, shapes) -> float:
    """The largest difference between onnxruntime's and PyTorch's detections
    (row by row: both sort by score) over random inputs of ``shapes``."""
    from mmattn.deployment.backbone_onnx import compare_with_onnxruntime
    checks = compare_with_onnxruntime(wrapper, onnx_file, shapes)
    for check in checks:
        print(f'  onnxruntime vs PyTorch at {"x".join(map(str, check.shape))}: largest '
              f'difference {check.max_abs_diff:.3g}')
    return max(check.max_abs_diff for check in checks)


def run(args: argparse.Namespace) -> int:
    import sys

    from mmattn.deployment.backbone_onnx import second_shape
    from mmattn.deployment.detection_limits import check_score_thr, override_detection_limits
    from mmattn.deployment.detector_onnx import DEFAULT_OPSET, export_detector, exportable
    from mmattn.deployment.onnx_detector import preprocessed_shape
    from mmattn.deployment.onnx_files import check_onnx_output
    from mmattn.deployment.serving_routes import benchmark_picture
    from mmattn.utils.errors import UsageError
    from .detector_loading import load_detector
    check_onnx_output(args.out, args.overwrite)
    if min(args.shape) < 32:
        raise UsageError(f'--shape {args.shape}: height and width must be >= 32')
    check_score_thr(args.score_thr)
    picture = benchmark_picture(args.image, args.shape) \
        if args.benchmark or args.image is not None else None
    checkpoint = None if args.checkpoint == 'none' else args.checkpoint
    model = load_detector(args.config, checkpoint, args.cfg_options, 'cpu', purpose='export',
                          allow_partial=args.allow_partial)
    override_detection_limits(model, args.score_thr, args.max_per_img)
    opset = DEFAULT_OPSET if args.opset is None else args.opset
    shape = (args.batch, 3, *args.shape)
    if args.benchmark and not args.dynamic:  # checked before the export, not after it
        made = preprocessed_shape(model, picture)
        if made != (1, 3, *args.shape):
            raise UsageError(f'--benchmark: the test pipeline makes a {made[2]}x{made[3]} input '
                             f'of the image, but --shape is {args.shape[0]}x{args.shape[1]} '
                             f'without --dynamic; add --dynamic, or --shape {made[2]} '
                             f'{made[3]}')
    names = export_detector(model, args.out, shape, args.dynamic, opset)
    kind = 'batch, height and width symbolic' if args.dynamic else 'static shape'
    print(f'export_detector_onnx: wrote {args.out} ({type(model).__name__}, opset {opset}, '
          f'{kind}; outputs {", ".join(names)})')
    worst = _compare(exportable(model), args.out, [shape, second_shape(shape, args.dynamic)])
    if args.benchmark:
        benchmark(model, args.out, picture, args.benchmark)
    if worst > args.atol:
        print(f'export_detector_onnx: error: onnxruntime differs from PyTorch by {worst:.3g} '
              f'> --atol {args.atol}', file=sys.stderr)
        return 1
    return 0


def benchmark(model, onnx_file: str, picture, rounds: int) -> None:
    """Image to detections at batch 1, PyTorch (``inference_detector``'s path)
    and onnxruntime (``OnnxDetector``) taking turns, on ``picture`` (an HxWx3
    BGR array); prints the table with the machine line."""
    from mmattn.analysis.machine import machine_line
    from mmattn.deployment.onnx_detector import OnnxDetector
    from mmattn.deployment.serving_routes import (file_route, pytorch_route, routes_table,
                                                  time_routes)
    routes = [pytorch_route('PyTorch', model, picture),
              file_route('onnxruntime', OnnxDetector(onnx_file, model.cfg), picture)]
    times = time_routes(routes, rounds)
    print(f'image to detections, batch 1, {rounds} rounds taking turns; {machine_line()}')
    for line in routes_table(routes, times):
        print(line)


def main(argv: Optional[List[str]] = None) -> int:
    """The ``export_detector_onnx`` command."""
    return run_command('export_detector_onnx', run, build_parser().parse_args(argv))
