"""Whole-detector ONNX export (#24): each family exported with standard
operators only, run by onnxruntime and OpenVINO through ``OnnxDetector``, and matched
detection by detection against mmdet's own PyTorch predictions; dynamic
shapes; the pieces (box decoding, batched NMS) against mmdet/mmcv; the
one-message failures; AP through ``test_onnx.py`` against ``tools/test.py``."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmattn.deployment.agreement import Agreement
from mmattn.deployment.runtimes import BACKENDS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')

# family -> (config, overrides of the model config for a small model)
SMALL_VOVNET = dict(backbone=dict(arch='V-19-slim-dw-eSE'),
                    neck=dict(in_channels=[112, 256, 384, 512]))
FAMILIES = {
    'fcos-vovnet': ('configs/vovnet/fcos_vovnet39_coco.py', SMALL_VOVNET),
    'retinanet-vovnet': ('configs/vovnet/retinanet_vovnet39_coco.py', SMALL_VOVNET),
    'faster-rcnn-epsanet': ('configs/epsanet/faster_rcnn_epsa50_coco.py', {}),
    'mask-rcnn-vovnet': ('configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py', {}),
    'mask-rcnn-r50-cbam-nonlocal': ('configs/demo/mask_rcnn_r50-thin_cbam_nonlocal_synthetic.py',
                                    {}),
    'centermask-lite-vovnet': ('configs/demo/centermask-lite_vovnet19_slim_dw_synthetic.py', {}),
}


def _merge(cfg: dict, overrides: dict) -> None:
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            _merge(cfg[key], value)
        else:
            cfg[key] = value


# the layers whose outputs set the scores and boxes: (mean, std) their outputs get
# (moderate: saturated scores tie in float32, and ties may be broken either way)
_CALIBRATED = {'conv_cls': (-1.0, 1.5), 'retina_cls': (-1.0, 1.5), 'rpn_cls': (-2.0, 1.0),
               'fc_cls': (-1.0, 1.5), 'conv_centerness': (0.0, 1.0), 'conv_logits': (0.0, 2.0),
               'fc_mask_iou': (0.5, 0.2), 'retina_reg': (0.0, 0.3), 'rpn_reg': (0.0, 0.3),
               'fc_reg': (0.0, 0.3), 'conv_reg': (1.5, 0.7)}


def _vivid(model: torch.nn.Module, image: np.ndarray, seed: int = 0) -> None:
    """Random weights that give detections with spread-out scores (a freshly
    initialised detector scores every box alike): the heads' weights drawn
    at random, then each layer that scores or places boxes scaled and shifted
    so that its outputs on ``image`` have the mean and spread of
    ``_CALIBRATED`` (classification logits 1.5 around -1: scores from about
    0.05 to 0.9), BN statistics non-trivial."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'head' in name:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.05)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.uniform_(0.5, 1.5)
    layers = {name: m for name, m in model.named_modules()
              if name.rsplit('.', 1)[-1] in _CALIBRATED and hasattr(m, 'weight')}
    outputs = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, n=name: outputs.setdefault(n, []).append(o))
             for name, m in layers.items()]
    from mmdet.apis import inference_detector
    inference_detector(model, image)
    for hook in hooks:
        hook.remove()
    with torch.no_grad():
        for name, layer in layers.items():
            if name not in outputs:
                continue
            target_mean, target_std = _CALIBRATED[name.rsplit('.', 1)[-1]]
            values = torch.cat([o.flatten() for o in outputs[name]])
            bias = layer.bias if layer.bias is not None else torch.zeros(())
            scale = target_std / values.std().clamp(min=1e-6)
            mean = (values - bias.mean()).mean()  # of the weight's part
            layer.weight.mul_(scale)
            if layer.bias is not None:
                layer.bias.fill_(float(target_mean - scale * mean))


TEST_SCALE = (128, 128)


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    """Synthetic BGR images: 96x96, 72x96 and 64x64. Resized for TEST_SCALE
    they fill inputs of 128x128, 96x128 and 128x128: no padding, where the
    export's one documented deviation (boxes clipped to the padded input, not
    the image) would show."""
    from mmattn.datasets.synthetic import make_synthetic_coco
    root = tmp_path_factory.mktemp('img') / 'set'
    make_synthetic_coco(str(root), num_train=1, num_val=3, image_size=96, min_side=16,
                        max_side=40, seed=4)
    import cv2
    read = [cv2.imread(str(root / 'val' / f'val_{i:06d}.png')) for i in range(3)]
    return [read[0], cv2.resize(read[1], (96, 72)), cv2.resize(read[2], (64, 64))]


def _build(family: str, tmp_path, image: np.ndarray):
    """The family's small model with ``_vivid`` weights, and its config file."""
    from mmattn.cli.detector_loading import load_detector
    from mmattn.utils.config import load_config
    config, overrides = FAMILIES[family]
    cfg = load_config(osp.join(REPO, config))
    _merge(cfg.model, overrides)
    for step in cfg.test_dataloader.dataset.pipeline:  # small inputs, keep ratio
        if step['type'] == 'Resize':
            step['scale'] = TEST_SCALE
    config_file = tmp_path / 'config.py'
    cfg.dump(str(config_file))
    model = load_detector(str(config_file), None)
    _vivid(model, image)
    return model, str(config_file)


@pytest.mark.slow
@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_family_exports_with_standard_operators_and_matches_pytorch(family, images, tmp_path):
    from mmdet.apis import inference_detector

    from mmattn.deployment.detector_onnx import export_detector, foreign_domains
    from mmattn.deployment.onnx_detector import OnnxDetector
    model, config = _build(family, tmp_path, images[0])
    onnx_file = str(tmp_path / 'model.onnx')
    names = export_detector(model, onnx_file, (1, 3, 96, 96), dynamic=True)
    assert foreign_domains(onnx_file) == []
    with_masks = 'mask' in family or 'centermask' in family
    assert names[:2] == ('dets', 'labels') and ('masks' in names) == with_masks
    # onnxruntime and OpenVINO (#31) each against PyTorch, and against each other
    detectors = {backend: OnnxDetector(onnx_file, config, backend=backend)
                 for backend in BACKENDS}
    agreements = {name: Agreement() for name in (*BACKENDS, 'openvino-onnxruntime')}
    for image in images[:2]:
        reference = inference_detector(model, image).pred_instances
        predicted = {backend: d(image).pred_instances for backend, d in detectors.items()}
        for backend in BACKENDS:
            agreements[backend].add(reference, predicted[backend])
        agreements['openvino-onnxruntime'].add(predicted['onnxruntime'], predicted['openvino'])
    for name, agreement in agreements.items():
        assert agreement.detections >= 3, f'{family}, {name}: too few detections scoring >= 0.3'
        assert agreement.failures == 0, f'{name}: {agreement.summary()}'
        assert bool(agreement.mask_ious) == with_masks


@pytest.mark.slow
def test_one_dynamic_file_serves_two_sizes_and_batches(images, tmp_path):
    """Batch 1 and 2, two input sizes, through one file: the batch of two
    gives each image what it gets alone at that size; and two images of
    different sizes in one batch give what mmdet gives for that batch."""
    from mmdet.apis import inference_detector

    from mmattn.deployment.detector_onnx import export_detector
    from mmattn.deployment.onnx_detector import OnnxDetector
    model, config = _build('mask-rcnn-vovnet', tmp_path, images[0])
    onnx_file = str(tmp_path / 'model.onnx')
    export_detector(model, onnx_file, (1, 3, 64, 64), dynamic=True)
    detector = OnnxDetector(onnx_file, config)
    import onnxruntime as ort
    session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    generator = torch.Generator().manual_seed(1)
    for h, w in ((96, 128), (160, 96)):
        x = torch.randn(2, 3, h, w, generator=generator)
        both = session.run(None, {'input': x.numpy()})
        for i in range(2):
            alone = session.run(None, {'input': x[i:i + 1].numpy()})
            for b, a in zip(both, alone):
                np.testing.assert_allclose(b[i], a[0], rtol=1e-4, atol=1e-4)
    pair = [images[0], images[2]]  # two sizes, one input size
    samples = detector(pair)
    references = inference_detector(model, pair)
    assert len(samples) == 2
    agreement = Agreement()
    for sample, reference, image in zip(samples, references, pair):
        assert sample.ori_shape == image.shape[:2]
        assert sample.pred_instances.masks.shape[1:] == image.shape[:2]
        agreement.add(reference.pred_instances, sample.pred_instances)
    assert agreement.detections > 0 and agreement.failures == 0, agreement.summary()


@pytest.mark.slow
@pytest.mark.parametrize('family', ['mask-rcnn-vovnet', 'centermask-lite-vovnet'])
def test_no_detection_gives_empty_rows_and_empty_predictions(family, images, tmp_path):
    """A threshold nothing passes: the mask heads run on no RoI at all (an
    empty NonZero), every row is empty, and the predictions are empty, as
    mmdet's."""
    from mmdet.apis import inference_detector

    from mmattn.deployment.detector_onnx import export_detector
    from mmattn.deployment.onnx_detector import OnnxDetector
    model, config = _build(family, tmp_path, images[0])
    for name in ('bbox_head', 'roi_head'):
        cfg = getattr(getattr(model, name, None), 'test_cfg', None)
        if cfg is not None and 'score_thr' in cfg:
            cfg['score_thr'] = 0.9999
    onnx_file = str(tmp_path / 'model.onnx')
    names = export_detector(model, onnx_file, (1, 3, 96, 96), dynamic=True)
    import onnxruntime as ort
    session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    outputs = dict(zip(names, session.run(None, {'input': np.zeros((2, 3, 64, 96), np.float32)})))
    assert (outputs['labels'] == -1).all() and not outputs['dets'].any()
    assert outputs['masks'].shape[:2] == outputs['labels'].shape and not outputs['masks'].any()
    assert len(inference_detector(model, images[0]).pred_instances) == 0
    for backend in BACKENDS:
        sample = OnnxDetector(onnx_file, config, backend=backend)(images[0])
        assert len(sample.pred_instances) == 0, backend
        assert sample.pred_instances.masks.shape == (0, *images[0].shape[:2])


def test_box_decoders_equal_mmdets():
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder, DistancePointBBoxCoder

    from mmattn.deployment.box_coders import decode
    generator = torch.Generator().manual_seed(0)
    points = torch.rand(50, 2, generator=generator) * 100
    distances = torch.rand(50, 4, generator=generator) * 40
    coder = DistancePointBBoxCoder()
    torch.testing.assert_close(decode(coder, points, distances, (90, 110)),
                               coder.decode(points, distances, max_shape=(90, 110)))
    boxes = torch.cat([points, points + torch.rand(50, 2, generator=generator) * 30 + 1], 1)
    for kwargs in (dict(target_stds=(0.1, 0.1, 0.2, 0.2)), dict(add_ctr_clamp=True)):
        coder = DeltaXYWHBBoxCoder(**kwargs)
        deltas = torch.randn(50, 4 * 3, generator=generator)
        torch.testing.assert_close(decode(coder, boxes, deltas, (90, 110)),
                                   coder.decode(boxes, deltas, max_shape=(90, 110)))


def _nms_case(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    xy = torch.rand(2, 300, 2, generator=generator) * 80
    boxes = torch.cat([xy, xy + torch.rand(2, 300, 2, generator=generator) * 30 + 2], 2)
    scores = torch.rand(2, 300, generator=generator)
    scores[:, 250:] = 0  # padding rows take no part
    labels = torch.randint(0, 5, (2, 300), generator=generator)
    return boxes, scores, labels


@pytest.mark.parametrize('split_thr', [10000, 100], ids=['offset', 'class-by-class'])
def test_batched_nms_equals_mmcvs_per_image(split_thr):
    from mmcv.ops import batched_nms as mmcv_batched_nms

    from mmattn.deployment.postprocess import batched_nms
    boxes, scores, labels = _nms_case()
    dets, out_labels, _ = batched_nms(boxes, scores, labels, 0.5, 40, num_classes=5,
                                      split_thr=split_thr)
    for b in range(2):
        real = scores[b] > 0
        ref, keep = mmcv_batched_nms(boxes[b][real], scores[b][real], labels[b][real],
                                     dict(type='nms', iou_threshold=0.5, split_thr=split_thr))
        ref, keep = ref[:40], keep[:40]
        valid = out_labels[b] >= 0
        assert int(valid.sum()) == len(ref)
        torch.testing.assert_close(dets[b][valid], ref)
        assert torch.equal(out_labels[b][valid], labels[b][real][keep])
        assert (dets[b][~valid] == 0).all()


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_class_by_class_nms_runs_the_same_in_the_runtimes(backend, tmp_path):
    """The class axis of ONNX NonMaxSuppression (batched_nms from split_thr
    boxes on), exported and run: the same detections as in PyTorch."""
    from mmattn.deployment.postprocess import batched_nms

    class Nms(torch.nn.Module):
        def forward(self, boxes, scores, labels):
            return batched_nms(boxes, scores, labels, 0.5, 40, num_classes=5, split_thr=100)[:2]
    inputs = _nms_case(1)
    path = str(tmp_path / 'nms.onnx')
    torch.onnx.export(Nms(), inputs, path, input_names=['boxes', 'scores', 'labels'],
                      output_names=['dets', 'labels_out'], opset_version=17, dynamo=False)
    import onnx
    assert [n.op_type for n in onnx.load(path).graph.node].count('NonMaxSuppression') == 1
    feed = dict(zip(['boxes', 'scores', 'labels'], (x.numpy() for x in inputs)))
    if backend == 'onnxruntime':
        import onnxruntime as ort
        dets, labels = ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(
            None, feed)
    else:
        import openvino as ov
        compiled = ov.Core().compile_model(path, 'CPU')
        results = compiled(feed)
        dets, labels = (np.array(results[o]) for o in compiled.outputs)
    ref_dets, ref_labels = Nms()(*inputs)
    assert np.array_equal(labels, ref_labels.numpy())
    np.testing.assert_allclose(dets, ref_dets.numpy(), rtol=1e-6, atol=1e-5)


def _tool(*args, timeout=600):
    return subprocess.run([sys.executable, *args], cwd=REPO, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_unsupported_detector_opset_and_checkpoint_are_one_message(tmp_path):
    out = tmp_path / 'x.onnx'
    proc = _tool('tools/deployment/export_detector_onnx.py',
                 'mmdet::atss/atss_r50_fpn_1x_coco.py', 'none', str(out), '--shape', '64', '64')
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    assert ('ATSS with ATSSHead cannot be exported as a whole detector; supported: FCOS'
            in proc.stderr)
    demo = 'configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py'
    proc = _tool('tools/deployment/export_detector_onnx.py', demo, 'none', str(out),
                 '--shape', '64', '64', '--opset', '13')
    assert proc.returncode == 2
    assert ('--opset 13 cannot express MaskRCNN; valid: 16..' in proc.stderr
            and 'RoiAlign with half_pixel needs 16' in proc.stderr)
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)}}, tmp_path / 'bad.pth')
    proc = _tool('tools/deployment/export_detector_onnx.py', demo, str(tmp_path / 'bad.pth'),
                 str(out), '--shape', '64', '64')
    assert proc.returncode == 2 and 'does not fit the model of this config' in proc.stderr
    proc = _tool('tools/deployment/export_detector_onnx.py', demo, 'none', str(out),
                 '--shape', '64', '64', '--benchmark', '1', '--image', str(tmp_path / 'no.png'))
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert f"--image '{tmp_path / 'no.png'}' does not exist" in proc.stderr
    assert not out.exists() and not list(tmp_path.glob('*.part'))


@pytest.mark.parametrize('config, option, where', [
    ('configs/demo/fcos_vovnet19_slim_dw_synthetic.py', 'model.test_cfg.nms.type',
     'FCOSHead: test_cfg.nms'),
    ('configs/demo/centermask-lite_vovnet19_slim_dw_synthetic.py', 'model.test_cfg.bbox.nms.type',
     'CenterMaskFCOSHead: test_cfg.nms'),
    ('configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py', 'model.test_cfg.rpn.nms.type',
     'RPNHead: test_cfg.nms'),
    ('configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py', 'model.test_cfg.rcnn.nms.type',
     'test_cfg.rcnn.nms'),
], ids=['fcos', 'centermask', 'rpn', 'rcnn'])
def test_an_nms_other_than_plain_nms_is_refused_before_tracing(config, option, where):
    from mmattn.cli.detector_loading import load_detector
    from mmattn.deployment.detector_onnx import exportable
    from mmattn.utils.errors import UsageError
    model = load_detector(osp.join(REPO, config), None, {option: 'soft_nms'})
    with pytest.raises(UsageError) as raised:
        exportable(model)
    assert str(raised.value) == (f"{where}.type='soft_nms' cannot be exported; supported: "
                                 "'nms' (ONNX NonMaxSuppression)")


@pytest.mark.slow
def test_test_onnx_gives_the_ap_tools_test_gives(tmp_path):
    """One checkpoint trained here (12 epochs on 64 images of 64 px: box AP
    about 0.2), the same tiny synthetic set: box and mask AP through the ONNX
    file equal tools/test.py's, in onnxruntime and in OpenVINO; its INT8
    version (#31) stays within 0.03 in both."""
    from mmattn.datasets.synthetic import make_synthetic_coco
    data = tmp_path / 'data'
    make_synthetic_coco(str(data), num_train=64, num_val=16, image_size=64, min_side=16,
                        max_side=32, seed=3)
    ann = f'{data}/annotations/instances_val.json'
    options = [f'{split}_dataloader.dataset.data_root={data}/' for split in
               ('train', 'val', 'test')] + [f'val_evaluator.ann_file={ann}',
                                            f'test_evaluator.ann_file={ann}']
    config = 'configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py'
    proc = _tool('tools/train.py', config, '--work-dir', str(tmp_path / 'train'),
                 '--cfg-options', *options, 'train_cfg.max_epochs=12', 'train_cfg.val_interval=12',
                 'param_scheduler.0.end=20', timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    checkpoint = str(tmp_path / 'train' / 'epoch_12.pth')
    proc = _tool('tools/test.py', config, checkpoint, '--work-dir', str(tmp_path / 'test'),
                 '--cfg-options', *options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    onnx_file = str(tmp_path / 'model.onnx')
    proc = _tool('tools/deployment/export_detector_onnx.py', config, checkpoint, onnx_file,
                 '--shape', '64', '64', '--dynamic', '--benchmark', '2', '--cfg-options', *options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'largest difference' in proc.stdout and '| onnxruntime | ' in proc.stdout
    assert 'ratio to PyTorch' in proc.stdout
    proc = _tool('tools/deployment/test_onnx.py', config, onnx_file, '--work-dir',
                 str(tmp_path / 'onnx'), '--compare', checkpoint, '--cfg-options', *options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'coco/bbox_mAP' in proc.stdout and 'agreement: ' in proc.stdout
    assert '; 0 miss the bar' in proc.stdout
    torch_metrics = json.load(open(tmp_path / 'test' / 'test_metrics.json'))
    onnx_metrics = json.load(open(tmp_path / 'onnx' / 'test_metrics.json'))
    for key in ('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50'):
        assert onnx_metrics[key] == pytest.approx(torch_metrics[key], abs=0.005), key
    # the same file in OpenVINO, and its INT8 version (#31) in both runtimes,
    # calibrated on the train images
    proc = _tool('tools/deployment/test_onnx.py', config, onnx_file, '--backend', 'openvino',
                 '--work-dir', str(tmp_path / 'openvino'), '--compare', checkpoint,
                 '--cfg-options', *options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '; 0 miss the bar' in proc.stdout
    openvino_metrics = json.load(open(tmp_path / 'openvino' / 'test_metrics.json'))
    int8_file = str(tmp_path / 'int8.onnx')
    proc = _tool('tools/deployment/quantize_onnx.py', config, onnx_file, int8_file,
                 '--calib-images', '16', '--cfg-options', *options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    int8_metrics = {}
    for backend in BACKENDS:
        proc = _tool('tools/deployment/test_onnx.py', config, int8_file, '--backend', backend,
                     '--work-dir', str(tmp_path / f'int8_{backend}'), '--cfg-options', *options)
        assert proc.returncode == 0, proc.stderr[-3000:]
        int8_metrics[backend] = json.load(open(tmp_path / f'int8_{backend}' /
                                               'test_metrics.json'))
    assert torch_metrics['coco/bbox_mAP'] > 0.1, 'too little learnt to compare'
    for key in ('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50'):
        assert openvino_metrics[key] == pytest.approx(torch_metrics[key], abs=0.005), key
    for key in ('coco/bbox_mAP', 'coco/segm_mAP'):  # (AP50 of 16 images moves more)
        for backend in BACKENDS:
            assert int8_metrics[backend][key] == pytest.approx(torch_metrics[key], abs=0.03), \
                (backend, key)
