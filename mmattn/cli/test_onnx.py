"""Evaluate an exported detector on a config's test set
(``tools/deployment/test_onnx.py``):

    python tools/deployment/test_onnx.py CONFIG MODEL.onnx [--work-dir DIR] \
        [--backend {onnxruntime,openvino}] [--precision {f32,bf16}] \
        [--show-dir DIR] [--compare CHECKPOINT] [--cfg-options ...]

Each test image goes through the config's test pipeline and data
preprocessor, the runtime (``--backend``, default onnxruntime; an INT8 file
from ``quantize_onnx.py`` runs in either) runs the file, and ``OnnxDetector`` turns its
outputs into mmdet predictions, which the config's ``test_evaluator``
(``CocoMetric``: box and mask AP) scores as ``tools/test.py`` does for a
checkpoint. Metrics are printed and written to ``WORK_DIR/test_metrics.json``;
``--show-dir`` draws the predictions. ``--compare CHECKPOINT`` also runs the
PyTorch model on every batch: its AP, and the agreement detection by
detection (``mmattn/deployment/agreement.py``), are printed beside the file's.
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmattn.deployment.runtimes import BACKENDS, PRECISIONS
from .command import CommandParser, add_cfg_options, run_command


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog='test_onnx', description='Evaluate an ONNX detector')
    parser.add_argument('config', help='the config the model was exported from')
    parser.add_argument('model', help='the .onnx file (export_detector_onnx.py)')
    parser.add_argument('--work-dir', help='where test_metrics.json goes (default: '
                                           'work_dirs/<config name>_onnx)')
    parser.add_argument('--backend', choices=BACKENDS, default='onnxruntime',
                        help='the runtime that runs the file (default onnxruntime)')
    parser.add_argument('--precision', choices=PRECISIONS, default=None,
                        help="with --backend openvino: its inference precision (default f32; "
                             "bf16 where the CPU has bf16 units)")
    parser.add_argument('--show-dir', help='draw predictions into WORK_DIR/SHOW_DIR')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='with --show-dir: the lowest score drawn; with --compare: the lowest '
                             'reference score compared (default 0.3)')
    parser.add_argument('--compare', metavar='CHECKPOINT',
                        help='also evaluate this checkpoint in PyTorch and compare detections')
    add_cfg_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from mmengine.logging import print_log
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    import mmattn  # noqa: F401
    from mmattn.deployment.onnx_detector import OnnxDetector
    from mmattn.engine.hooks.metrics_json_hook import write_json_atomic
    from mmattn.preflight import dataset_problems
    from mmattn.utils.config import load_config
    from mmattn.utils.errors import UsageError
    if not osp.isfile(args.model):
        raise UsageError(f'model {args.model!r} does not exist')
    cfg = load_config(args.config, args.cfg_options)
    work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0] + '_onnx')
    problems, _ = dataset_problems(cfg, ['test_dataloader'])
    if problems:
        raise UsageError('\n'.join(problems))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    detector = OnnxDetector(args.model, cfg, backend=args.backend, precision=args.precision)
    loader = Runner.build_dataloader(cfg.test_dataloader)
    evaluator = _evaluator(cfg, loader)
    reference = None
    if args.compare:
        from mmattn.deployment.agreement import Agreement
        from .detector_loading import load_detector
        model = load_detector(args.config, args.compare, args.cfg_options)
        reference = (model, _evaluator(cfg, loader), Agreement())
    visualizer = _visualizer(loader.dataset.metainfo) if args.show_dir else None
    for i, data_batch in enumerate(loader):
        samples = detector.predict_batch(data_batch)
        predictions = [s.pred_instances.clone() for s in samples]
        evaluator.process(data_samples=samples, data_batch=data_batch)
        if visualizer is not None:
            _draw(visualizer, samples, osp.join(work_dir, args.show_dir), args.score_thr)
        if reference is not None:
            _compare(reference, data_batch, predictions, args.score_thr)
        if (i + 1) % 50 == 0:
            print_log(f'test_onnx: [{i + 1}/{len(loader)}]', logger='current')
    metrics = evaluator.evaluate(len(loader.dataset))
    print(f'test_onnx: {args.model} ({args.backend}) on {len(loader.dataset)} images  '
          f'{_shown(metrics)}')
    if reference is not None:
        print(f'test_onnx: PyTorch {args.compare}  '
              f'{_shown(reference[1].evaluate(len(loader.dataset)))}')
        print(f'test_onnx: agreement: {reference[2].summary(args.score_thr)}')
    write_json_atomic(osp.join(work_dir, 'test_metrics.json'), dict(metrics))
    print(f'test_onnx: metrics written to {osp.join(work_dir, "test_metrics.json")}')
    return 0


def _evaluator(cfg, loader):
    from mmengine.evaluator import Evaluator
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = loader.dataset.metainfo
    return evaluator


def _shown(metrics: dict) -> str:
    return '  '.join(f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}'
                     for k, v in metrics.items())


def _compare(reference, data_batch: dict, predictions, min_score: float) -> None:
    """The PyTorch model on the batch: its AP, and each image's agreement."""
    import torch
    model, evaluator, agreement = reference
    with torch.no_grad():
        samples = model.test_step(data_batch)
    for sample, prediction in zip(samples, predictions):
        agreement.add(sample.pred_instances, prediction, min_score)
    evaluator.process(data_samples=samples, data_batch=data_batch)


def _visualizer(metainfo: dict):
    from mmdet.visualization import DetLocalVisualizer
    visualizer = DetLocalVisualizer.get_instance('mmattn_test_onnx')
    visualizer.dataset_meta = metainfo
    return visualizer


def _draw(visualizer, samples, out_dir: str, score_thr: float) -> None:
    import mmcv
    for sample in samples:
        image = mmcv.imread(sample.img_path, channel_order='rgb')
        name = osp.basename(sample.img_path)
        visualizer.add_datasample(name, image, sample, draw_gt=False, show=False,
                                  pred_score_thr=score_thr, out_file=osp.join(out_dir, name))


def main(argv: Optional[List[str]] = None) -> int:
    """The ``test_onnx`` command."""
    return run_command('test_onnx', run, build_parser().parse_args(argv))
