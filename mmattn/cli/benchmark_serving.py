"""Image to detections at batch 1 on the CPU, every serving route side by side
(``tools/deployment/benchmark_serving.py``):

    python tools/deployment/benchmark_serving.py CONFIG CHECKPOINT [--int8 FILE] \
        [--fp32 FILE] [--shape H W] [--image IMG] [--rounds R] [--score-thr S] \
        [--max-per-img K] [--routes NAME ...] [--profile] [--cfg-options ...]

Routes, taking turns in every round after a warm-up: PyTorch fp32 (mmdet's
``inference_detector`` path), onnxruntime fp32, OpenVINO fp32, and with
``--int8`` (a ``quantize_onnx.py`` file) onnxruntime INT8 and OpenVINO INT8;
OpenVINO bf16 where the CPU has bf16 units (AVX-512 BF16, AMX). Printed: the
machine (CPU model and ISA flags), each route's median, its ratio to PyTorch,
its stages (pipeline, network, post-processing: ``serving_routes``) and its
detections.

The fp32 file is exported from CHECKPOINT (``none``: the config's
initialisation) for the input the test pipeline makes of the image (a random
image of ``--shape``, default 800 1333, or ``--image``), unless ``--fp32``
gives one. An untrained model finds nothing above the config's score
threshold, and the mask heads would not run: ``--score-thr 0`` sends
``max_per_img`` detections through them (say so with the figures). It sets
PyTorch's and the exported fp32 file's thresholds; files given (``--int8``,
``--fp32``) keep those they were exported with (export them with the same
``--score-thr``/``--max-per-img``); the table's detections column shows it.
``--profile`` prints the network's time by operator type for each file route.
"""
import argparse
import os.path as osp
import tempfile
from typing import List, Optional

from .command import (CommandParser, add_allow_partial, add_cfg_options, add_config_and_checkpoint,
                      positive_int, run_command)

ROUTES = ('pytorch', 'ort-fp32', 'ort-int8', 'ov-fp32', 'ov-int8', 'ov-bf16')
SHOWN = {'pytorch': 'PyTorch fp32', 'ort-fp32': 'onnxruntime fp32', 'ort-int8': 'onnxruntime INT8',
         'ov-fp32': 'OpenVINO fp32', 'ov-int8': 'OpenVINO INT8', 'ov-bf16': 'OpenVINO bf16'}


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='benchmark_serving',
                           description='Image to detections at batch 1, serving routes side by '
                                       'side')
    add_config_and_checkpoint(parser, "checkpoint file; 'none': the config's initialisation")
    parser.add_argument('--int8', help='an INT8 file of the same model (quantize_onnx.py)')
    parser.add_argument('--fp32', help='the fp32 file to time (default: exported here)')
    parser.add_argument('--shape', type=positive_int, nargs=2, default=[800, 1333],
                        metavar=('H', 'W'), help='the random image (default 800 1333)')
    parser.add_argument('--image', help='an image file instead of the random one')
    parser.add_argument('--rounds', type=positive_int, default=10)
    parser.add_argument('--warmup', type=positive_int, default=2)
    parser.add_argument('--score-thr', type=float, default=None,
                        help="override the config's test score threshold (0: max_per_img "
                             'detections through the mask heads)')
    parser.add_argument('--max-per-img', type=positive_int, default=None,
                        help="override the config's detections per image")
    parser.add_argument('--routes', nargs='+', choices=ROUTES, default=None,
                        help='the routes to time (default: every route available)')
    parser.add_argument('--profile', action='store_true',
                        help="print each file route's network time by operator type")
    add_cfg_options(parser)
    add_allow_partial(parser, 'time')
    return parser


def _routes_wanted(args: argparse.Namespace) -> List[str]:
    from mmattn.deployment.runtimes import cpu_has_bf16
    from mmattn.utils.errors import UsageError
    available = ['pytorch', 'ort-fp32', 'ov-fp32']
    if args.int8:
        available += ['ort-int8', 'ov-int8']
    if cpu_has_bf16():
        available.append('ov-bf16')
    if args.routes is None:
        return [r for r in ROUTES if r in available]
    missing = [r for r in args.routes if r not in available]
    if missing:
        why = {'ort-int8': 'needs --int8 FILE', 'ov-int8': 'needs --int8 FILE',
               'ov-bf16': 'needs a CPU with bf16 units (AVX-512 BF16 or AMX)'}
        raise UsageError('--routes: ' + '; '.join(f'{r} {why.get(r, "")}' for r in missing))
    return [r for r in ROUTES if r in args.routes]


def run(args: argparse.Namespace) -> int:
    import mmattn  # noqa: F401
    from mmattn.analysis.machine import machine_line
    from mmattn.deployment.detection_limits import check_score_thr, override_detection_limits
    from mmattn.deployment.detector_onnx import export_detector
    from mmattn.deployment.onnx_detector import OnnxDetector, preprocessed_shape
    from mmattn.deployment.serving_routes import (benchmark_picture, file_route, pytorch_route,
                                                  routes_table, time_routes)
    from mmattn.utils.errors import UsageError
    from .detector_loading import load_detector
    check_score_thr(args.score_thr)
    for flag, path in (('--int8', args.int8), ('--fp32', args.fp32)):
        if path is not None and not osp.isfile(path):
            raise UsageError(f'{flag} {path!r} does not exist')
    wanted = _routes_wanted(args)
    picture = benchmark_picture(args.image, args.shape)
    checkpoint = None if args.checkpoint == 'none' else args.checkpoint
    model = load_detector(args.config, checkpoint, args.cfg_options, 'cpu', purpose='export',
                          allow_partial=args.allow_partial)
    override_detection_limits(model, args.score_thr, args.max_per_img)
    made = preprocessed_shape(model, picture)
    with tempfile.TemporaryDirectory(prefix='mmattn-serving-') as scratch:
        fp32 = args.fp32
        if fp32 is None and any(r.endswith('fp32') or r.endswith('bf16') for r in wanted
                                if r != 'pytorch'):
            fp32 = osp.join(scratch, 'fp32.onnx')
            export_detector(model, fp32, made, dynamic=False)
        files = {'fp32': fp32, 'int8': args.int8, 'bf16': fp32}
        routes = []
        for name in wanted:
            if name == 'pytorch':
                routes.append(pytorch_route(SHOWN[name], model, picture))
                continue
            runtime, kind = name.split('-')
            detector = OnnxDetector(files[kind], model.cfg,
                                    backend='onnxruntime' if runtime == 'ort' else 'openvino',
                                    precision='bf16' if kind == 'bf16' else None,
                                    profile=args.profile)
            routes.append(file_route(SHOWN[name], detector, picture))
        times = time_routes(routes, args.rounds, args.warmup)
    forced = ' (score_thr 0: max_per_img detections forced through every head)' \
        if args.score_thr == 0 else ''
    print(f'benchmark_serving: {osp.basename(args.config)}, input {made[2]}x{made[3]} '
          f'(image {picture.shape[0]}x{picture.shape[1]}), batch 1, {args.rounds} rounds taking '
          f'turns{forced}')
    print(f'machine: {machine_line()}; {_runtime_versions()}')
    for line in routes_table(routes, times):
        print(line)
    if args.profile:
        for route in routes:
            if route.detector is not None:
                _print_profile(route.name, route.detector.session.operator_profile())
    return 0


def _runtime_versions() -> str:
    import onnxruntime as ort
    try:
        import openvino as ov
        openvino = ov.__version__.split('-')[0]
    except ImportError:
        openvino = 'not installed'
    return f'onnxruntime {ort.__version__} (default threads), OpenVINO {openvino}'


def _print_profile(name: str, by_op: dict, top: int = 12) -> None:
    total = sum(by_op.values())
    shown = ', '.join(f'{op} {ms:.1f}' for op, ms in
                      sorted(by_op.items(), key=lambda kv: -kv[1])[:top])
    print(f'{name}: network by operator type, ms per run (total {total:.1f}): {shown}')


def main(argv: Optional[List[str]] = None) -> int:
    """The ``benchmark_serving`` command."""
    return run_command('benchmark_serving', run, build_parser().parse_args(argv))
