"""Pictures of what a detector's attention blocks attend to on one image:
``vis_attention.py IMG CONFIG CHECKPOINT --out-dir DIR [--blocks ...]
[--stages ...] [--query-points X Y ...] [--cfg-options ...] [--device ...]``.

The image goes through the config's test pipeline and the model's data
preprocessor, as in mmdet's ``inference_detector``; every attention block
(any module with an ``AttentionProbe``: backbone blocks, ResNet plugins,
CenterMask's SAM, drawn inside the detections' boxes) is hooked during
``predict``. Writes ``detections.jpg`` (mmdet's
``DetLocalVisualizer``) and, per block or per stage, the PNGs described in
``mmattn/visualization/attention_pictures.py``: drawn aside first, then moved
into ``--out-dir``, where a file of the same name is replaced only if
vis_attention wrote it (``--overwrite`` to replace others).
"""
import argparse
import os
import os.path as osp
import shutil
import tempfile
from typing import List, Optional

from mmattn.utils.errors import UsageError
from mmattn.utils.images import read_image
from mmattn.utils.staged_writes import publish_files_into
from .command import (CommandParser, add_allow_partial, add_cfg_options, add_config_and_checkpoint,
                      run_command)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='vis_attention',
                           description="Draw a detector's attention maps on an image")
    parser.add_argument('img', help='image file')
    add_config_and_checkpoint(parser, 'checkpoint file (or URL)')
    parser.add_argument('--out-dir', default='work_dirs/attention',
                        help='where the PNGs go (default: %(default)s)')
    parser.add_argument('--blocks', nargs='+', metavar='NAME',
                        help='only blocks whose module path contains NAME or whose '
                             'class or factory name is NAME (e.g. cbam, layer3.0)')
    parser.add_argument('--stages', nargs='+', type=int, metavar='S',
                        help='only backbone blocks of these stages (1 = the first stage)')
    parser.add_argument('--query-points', nargs='+', type=float, metavar='X Y',
                        default=[0.5, 0.5],
                        help='query positions for pairwise attention (non-local, PAM, '
                             'criss-cross) as x y fractions of the image width and height '
                             '(default: the centre)')
    parser.add_argument('--alpha', type=float, default=0.5, help='overlay opacity')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='score threshold for detections.jpg')
    parser.add_argument('--device', default=None, help='cuda:0 when present, else cpu')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace files in --out-dir that vis_attention did not write')
    add_cfg_options(parser)
    add_allow_partial(parser, 'draw')
    return parser


def _query_points(values: List[float]) -> List[tuple]:
    if len(values) % 2 or not values:
        raise UsageError(f'--query-points {values} must be pairs of x y fractions')
    points = [(values[i], values[i + 1]) for i in range(0, len(values), 2)]
    for x, y in points:
        if not (0 <= x <= 1 and 0 <= y <= 1):
            raise UsageError(f'--query-points: ({x}, {y}) is outside the image; give x y '
                             'as fractions in [0, 1] of its width and height')
    return points


def run(args: argparse.Namespace) -> List[str]:
    """Everything but the argument parsing; returns the written files."""
    import torch

    from mmattn.deployment.onnx_detector import test_pipeline
    from mmattn.visualization import AttentionRecorder, write_attention_pictures
    from .detector_loading import load_detector
    points = _query_points(args.query_points)
    image = read_image(args.img)
    if osp.lexists(args.out_dir) and not osp.isdir(args.out_dir):
        raise UsageError(f'--out-dir {args.out_dir!r} exists and is not a folder')
    device = args.device or ('cuda:0' if torch.cuda.is_available() else 'cpu')
    model = load_detector(args.config, args.checkpoint, args.cfg_options, device,
                          allow_partial=args.allow_partial)
    data = test_pipeline(model.cfg, True)(dict(img=image, img_id=0))
    batch = model.data_preprocessor(
        dict(inputs=[data['inputs']], data_samples=[data['data_samples']]), False)
    inputs, samples = batch['inputs'], batch['data_samples']
    img_shape = tuple(samples[0].img_shape)
    input_shape = tuple(inputs.shape[-2:])
    # (x, y) of the image -> (y, x) of the padded input
    query = [(y * img_shape[0] / input_shape[0], x * img_shape[1] / input_shape[1])
             for x, y in points]
    recorder = AttentionRecorder(model, args.blocks, args.stages, query)
    if not recorder.probes():
        everything = AttentionRecorder(model).probes()
        if not everything:
            raise UsageError(f'config {args.config!r} has no attention blocks to draw (none of '
                             'mmattn\'s blocks is in its model)')
        kinds = sorted({type(block).__name__ for _, _, block, _, _ in everything})
        raise UsageError(f'no attention block matches --blocks {args.blocks} --stages '
                         f'{args.stages}; the model has {", ".join(kinds)}')
    with recorder, torch.no_grad():
        results = model.predict(inputs, samples)
    rgb = image[..., ::-1].copy()
    blocks = dict(model.named_modules())
    pred = results[0].pred_instances
    detections = (pred.bboxes.cpu().numpy(), pred.scores.cpu().numpy()) \
        if 'bboxes' in pred else None
    parent = osp.dirname(osp.abspath(args.out_dir))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix='.vis_attention-', dir=parent)
    try:  # drawn aside, then moved in: nothing of a user's is overwritten
        write_attention_pictures(recorder.records, rgb, img_shape, input_shape, staging, query,
                                 blocks, args.alpha, detections)
        _draw_detections(model, rgb, results[0], args, staging)
        return publish_files_into(staging, args.out_dir, 'vis_attention', args.overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _draw_detections(model, rgb, result, args, out_dir: str) -> str:
    import mmcv
    from mmdet.visualization import DetLocalVisualizer
    factor = max(1, -(-400 // max(rgb.shape[:2])))  # small images drawn at >= 400 px
    if factor > 1:
        rgb = mmcv.imrescale(rgb, factor, interpolation='nearest')
        pred = result.pred_instances.clone()
        pred.bboxes = pred.bboxes * factor
        if 'masks' in pred:  # nearest-neighbour upscaling, also for 0 masks
            pred.masks = pred.masks.repeat_interleave(factor, 1).repeat_interleave(factor, 2)
        result = result.clone()
        result.pred_instances = pred
    visualizer = DetLocalVisualizer.get_instance('mmattn_vis_attention')
    visualizer.dataset_meta = model.dataset_meta
    out_file = osp.join(out_dir, 'detections.jpg')
    visualizer.add_datasample('detections', rgb, result, draw_gt=False, show=False,
                              pred_score_thr=args.score_thr, out_file=out_file)
    return out_file


def _run_and_list(args: argparse.Namespace) -> int:
    written = run(args)
    print(f'vis_attention: wrote {len(written)} pictures to {args.out_dir}')
    for path in written:
        print(f'  {path}')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """The ``vis_attention`` command."""
    return run_command('vis_attention', _run_and_list, build_parser().parse_args(argv))
