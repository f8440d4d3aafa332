"""Try mmdeploy's whole-detector ONNX export (``mmdeploy.apis.torch2onnx``,
onnxruntime backend, end-to-end instance segmentation) on a config and
checkpoint, and print in one line whether it worked or where it stopped.

    python tools/deployment/check_mmdeploy.py CONFIG CHECKPOINT IMG [--work-dir DIR] \
        [--torchscript]

``--torchscript`` makes ``torch.onnx.export`` default to the TorchScript
exporter (``dynamo=False``), which mmdeploy 1.x was written for; torch >= 2.9
defaults to the dynamo exporter. See docs/deployment.md for what we measured.
"""
import argparse
import functools
import traceback
from typing import List, Optional

from .command import CommandParser, run_command

DEPLOY_CFG = dict(
    onnx_config=dict(
        type='onnx', export_params=True, keep_initializers_as_inputs=False, opset_version=11,
        save_file='end2end.onnx', input_names=['input'], output_names=['dets', 'labels', 'masks'],
        input_shape=None, optimize=True,
        dynamic_axes={'input': {0: 'batch', 2: 'height', 3: 'width'},
                      'dets': {0: 'batch', 1: 'num_dets'}, 'labels': {0: 'batch', 1: 'num_dets'},
                      'masks': {0: 'batch', 1: 'num_dets', 2: 'height', 3: 'width'}}),
    codebase_config=dict(
        type='mmdet', task='ObjectDetection', model_type='end2end',
        post_processing=dict(score_threshold=0.05, confidence_threshold=0.005, iou_threshold=0.5,
                             max_output_boxes_per_class=200, pre_top_k=5000, keep_top_k=100,
                             background_label_id=-1, export_postprocess_mask=False)),
    backend_config=dict(type='onnxruntime'))


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='check_mmdeploy', description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('img')
    parser.add_argument('--work-dir', default='work_dirs/mmdeploy_check')
    parser.add_argument('--torchscript', action='store_true',
                        help='default torch.onnx.export to dynamo=False')
    return parser


def run(args: argparse.Namespace) -> int:
    import torch
    from mmengine.config import Config

    import mmattn  # noqa: F401
    try:
        from mmdeploy.apis import torch2onnx
    except Exception as error:  # noqa: BLE001
        print(f'check_mmdeploy: mmdeploy cannot be imported: {type(error).__name__}: {error}')
        return 1
    if args.torchscript:
        torch.onnx.export = functools.partial(torch.onnx.export, dynamo=False)
    try:
        torch2onnx(args.img, args.work_dir, 'end2end.onnx', Config(DEPLOY_CFG), args.config,
                   args.checkpoint, device='cpu')
    except Exception as error:  # noqa: BLE001
        root = error
        while root.__cause__ is not None:  # the exporter wraps the real reason
            root = root.__cause__
        frame = traceback.extract_tb(root.__traceback__)[-1]
        first = str(root).strip().splitlines()[0] if str(root).strip() else ''
        print(f'check_mmdeploy: FAILED with torch {torch.__version__}: {type(error).__name__}'
              f'{"" if root is error else " caused by " + type(root).__name__}: '
              f'{first[:300]} (at {frame.filename}:{frame.lineno})')
        return 1
    print(f'check_mmdeploy: OK, wrote {args.work_dir}/end2end.onnx')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """The ``check_mmdeploy`` command."""
    return run_command('check_mmdeploy', run, build_parser().parse_args(argv))
