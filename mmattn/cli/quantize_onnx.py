"""INT8 post-training quantisation of an exported detector
(``tools/deployment/quantize_onnx.py``):

    python tools/deployment/quantize_onnx.py CONFIG FP32.onnx OUT.onnx \
        [--calib-images N] [--keep-fp32 NODE ...] [--full-range] \
        [--int8-head-outputs] [--overwrite] [--cfg-options ...]

Calibrates on N images (default 64) of the config's train set, through its
test pipeline and data preprocessor, and writes a QDQ file (standard ONNX
operators; int8 convolution weights) that ``test_onnx.py`` and
``OnnxDetector`` run in onnxruntime or OpenVINO (``--backend``). See
``mmattn/deployment/quantization.py`` for what is quantised and what stays
fp32. The write is staged: on any failure nothing is left at OUT.onnx; an
existing OUT is replaced only if mmattn wrote it, else ``--overwrite``.
"""
import argparse
from typing import List, Optional

from mmattn.deployment.onnx_files import check_onnx_output
from mmattn.deployment.quantization import quantize_detector
from mmattn.utils.config import load_config
from mmattn.utils.errors import UsageError
from .command import CommandParser, add_cfg_options, positive_int, run_command


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='quantize_onnx',
                           description='INT8 post-training quantisation of an ONNX detector')
    parser.add_argument('config', help='the config the model was exported from')
    parser.add_argument('fp32', help='the fp32 .onnx file (export_detector_onnx.py)')
    parser.add_argument('out', help='the INT8 .onnx file to write')
    parser.add_argument('--calib-images', type=positive_int, default=64,
                        help='train-set images to calibrate on (default 64)')
    parser.add_argument('--keep-fp32', nargs='+', default=[], metavar='NODE',
                        help='names of further nodes to leave in fp32')
    parser.add_argument('--full-range', action='store_true',
                        help='8-bit weights, for serving on CPUs with VNNI or AMX only (default: '
                             '7-bit, which no CPU saturates)')
    parser.add_argument('--int8-head-outputs', action='store_true',
                        help='also round the prediction layers\' outputs (scores, boxes, mask '
                             'logits) to int8, as onnxruntime does by default (default: fp32)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing OUT that mmattn did not write')
    add_cfg_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from mmengine.registry import init_default_scope

    import mmattn  # noqa: F401  (registers mmattn's modules)
    from mmattn.preflight import dataset_problems
    check_onnx_output(args.out, args.overwrite, inputs=[args.fp32])
    cfg = load_config(args.config, args.cfg_options)
    problems, _ = dataset_problems(cfg, ['train_dataloader'])
    if problems:
        raise UsageError('\n'.join(problems))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    done = quantize_detector(args.fp32, args.out, cfg, args.calib_images, args.keep_fp32,
                             reduce_range=not args.full_range,
                             fp32_head_outputs=not args.int8_head_outputs)
    print(f'quantize_onnx: wrote {args.out} (INT8 QDQ, {done["int8_weights"]} int8 '
          f'initialisers, {done["dequantize_nodes"]} DequantizeLinear nodes; calibrated on '
          f'{done["calib_images"]} train images, {"8" if args.full_range else "7"}-bit '
          'weights)')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """The ``quantize_onnx`` command."""
    return run_command('quantize_onnx', run, build_parser().parse_args(argv))
