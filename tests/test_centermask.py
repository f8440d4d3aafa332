"""CenterMask: each part against an independent computation (SAM is in
test_attention_reference.py), and every config trained one step and run."""
import glob
import math
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmcv.ops import RoIAlign
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmattn.models.roi_heads.mask_heads.centermask_iou_head import mask_iou_targets, rescore_masks
from mmattn.models.roi_heads.roi_extractors.area_ratio_roi_extractor import area_ratio_levels
from _official_layouts import official_centermask2_shapes

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'centermask', '*.py')))
LOSSES = {'loss_cls', 'loss_bbox', 'loss_centerness', 'loss_mask', 'loss_mask_iou'}


def _build(path, **test_bbox):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None
    cfg.model.test_cfg.bbox.update(test_bbox)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model, cfg


def _inputs(model, training):
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(1)
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 128, 160), (3, 96, 128)],
                            num_items=[3, 2], num_classes=80, with_mask=True)
    return model.data_preprocessor(packed, training)


def test_the_five_official_configs_are_there():
    names = {osp.basename(p) for p in CONFIGS}
    assert names == {'centermask_vovnet39_fpn_ms-3x_coco.py',
                     'centermask_vovnet57_fpn_ms-3x_coco.py',
                     'centermask_vovnet99_fpn_ms-3x_coco.py',
                     'centermask-lite_vovnet19_fpn_4x_coco.py',
                     'centermask-lite_vovnet39_fpn_4x_coco.py'}


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_trains_one_step_with_every_loss_and_predicts(path):
    model, cfg = _build(path, score_thr=0.0)
    model.train()
    losses = model(**_inputs(model, True), mode='loss')
    assert set(losses) == LOSSES
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    for part in ('backbone', 'neck', 'bbox_head', 'roi_head'):
        grads = [p.grad for p in getattr(model, part).parameters() if p.requires_grad]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), part
    model.eval()
    with torch.no_grad():
        data = _inputs(model, False)
        results = model(**data, mode='predict')
        tensors = model(data['inputs'], mode='tensor')
    for sample in results:
        pred = sample.pred_instances
        n = len(pred)
        assert 0 < n <= cfg.model.test_cfg.bbox.max_per_img == (50 if 'lite' not in path else 50)
        assert pred.bboxes.shape == (n, 4) and pred.labels.shape == (n,)
        assert pred.scores.shape == pred.mask_scores.shape == (n,)
        assert pred.masks.shape == (n, *sample.ori_shape) and pred.masks.dtype == torch.bool
    # FCOS's 3 x 5 level outputs, then mask logits and MaskIoU predictions
    assert len(tensors) == 5 and len(tensors[0]) == 5
    assert tensors[3].shape[1:] == (80, 28, 28) and tensors[4].shape[1] == 80


def test_official_recipe_numbers():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/centermask/centermask_vovnet39_fpn_ms-3x_coco.py'))
    assert cfg.train_cfg.max_iters == 270000
    assert cfg.param_scheduler[1].milestones == [210000, 250000]
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.train_dataloader.batch_size * 8 == 16
    assert cfg.model.backbone.out_indices == (1, 2, 3)
    assert cfg.model.train_cfg.proposal.max_per_img == 100
    assert cfg.model.test_cfg.bbox.max_per_img == 50
    assert cfg.model.test_cfg.bbox.nms.iou_threshold == 0.6
    head = cfg.model.bbox_head
    assert (head.center_sample_radius, head.norm_on_bbox, head.centerness_on_reg, head.conv_bias,
            head.loss_bbox.type, head.loss_cls.alpha, head.loss_cls.gamma) == (
                1.5, True, True, True, 'GIoULoss', 0.25, 2.0)
    sampler = cfg.model.train_cfg.mask.sampler
    assert (sampler.num, sampler.pos_fraction) == (512, 0.25)
    lite = Config.fromfile(
        osp.join(REPO, 'configs/centermask/centermask-lite_vovnet19_fpn_4x_coco.py'))
    assert lite.model.neck.out_channels == 128 and lite.model.bbox_head.stacked_convs == 2
    roi_head = lite.model.roi_head
    assert roi_head.mask_head.num_convs == roi_head.mask_iou_head.num_convs == 2
    assert lite.train_cfg.max_iters == 360000
    assert lite.model.backbone.arch == 'V-19-eSE'


@pytest.mark.parametrize('ratio,expected', [
    (64.0, 3), (4.0, 3), (3.999, 4), (2.0001, 4), (2.0, 4), (1.999, 5), (1.0, 5), (0.5, 5)])
def test_level_formula_at_the_bin_edges(ratio, expected):
    """k = ceil(5 - log2(A_img / A_roi)) clamped to [3, 5] on P3-P5."""
    img_h, img_w = 600, 800
    area = img_h * img_w / ratio
    side = math.sqrt(area)
    rois = torch.tensor([[0, 10, 20, 10 + side, 20 + side]], dtype=torch.float64)
    formula = min(5, max(3, math.ceil(5 - math.log2(img_h * img_w / area))))
    assert formula == expected
    assert int(area_ratio_levels(rois, [(img_h, img_w)], 3, 5)[0]) + 3 == expected


def test_levels_use_each_images_own_unpadded_shape():
    rois = torch.tensor([[0, 0, 0, 200, 150], [1, 0, 0, 200, 150]], dtype=torch.float32)
    # 800x600 image: ratio 16 -> P3; 300x200 image: ratio 2 -> P4
    levels = area_ratio_levels(rois, [(600, 800), (200, 300)], 3, 5)
    assert levels.tolist() == [0, 1]


def test_area_ratio_extractor_pools_each_roi_from_its_level():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    extractor = MODELS.build(dict(
        type='AreaRatioRoIExtractor',
        roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0, aligned=True),
        out_channels=8, featmap_strides=[8, 16, 32]))
    feats = tuple(torch.randn(2, 8, 128 // s, 160 // s) for s in (8, 16, 32))
    rois = torch.tensor([[0, 4, 4, 30, 30], [0, 0, 0, 100, 90], [1, 10, 5, 150, 120],
                         [1, 2, 2, 20, 10]], dtype=torch.float32)
    shapes = [(120, 150), (128, 160)]
    out = extractor(feats, rois, shapes)
    for i, roi in enumerate(rois):
        img_area = shapes[int(roi[0])][0] * shapes[int(roi[0])][1]
        area = float((roi[3] - roi[1]) * (roi[4] - roi[2]))
        level = min(5, max(3, math.ceil(5 - math.log2(img_area / area)))) - 3
        expected = RoIAlign(14, 1 / (8 * 2 ** level), 0, aligned=True)(feats[level], roi[None])
        torch.testing.assert_close(out[i:i + 1], expected)
    assert extractor(feats, rois[:0], shapes).shape == (0, 8, 14, 14)
    with pytest.raises(ValueError, match='img_shapes'):
        extractor(feats, rois)


def test_mask_iou_target_is_the_iou_with_the_whole_object():
    from mmdet.structures.mask import BitmapMasks

    from mmattn.models.roi_heads.mask_heads import CenterMaskIoUHead

    # a 28x42 object; the proposal (28x28 pixels, so one mask cell per pixel)
    # covers its left two thirds
    full = np.zeros((1, 60, 80), np.uint8)
    full[0, 10:38, 20:62] = 1
    box = torch.tensor([[20., 10., 48., 38.]])
    targets = torch.from_numpy(full[0, 10:38, 20:48]).float()[None]
    torch.manual_seed(0)
    logits = torch.randn(1, 28, 28) * 2
    head = CenterMaskIoUHead(num_classes=3, roi_feat_size=14, in_channels=8)
    res = SimpleNamespace(pos_priors=box, pos_assigned_gt_inds=torch.tensor([0]))
    got = head.get_targets([res], [InstanceData(masks=BitmapMasks(full, 60, 80))], logits,
                           targets)
    predicted = np.zeros((60, 80), bool)
    predicted[10:38, 20:48] = (logits[0] > 0).numpy()
    expected = (predicted & full[0].astype(bool)).sum() / (predicted | full[0].astype(bool)).sum()
    assert float(got[0]) == pytest.approx(expected, rel=1e-6)
    # degenerate: nothing predicted and nothing inside -> 0; empty batch -> empty
    zero = mask_iou_targets(torch.full((1, 4, 4), -1.), torch.zeros(1, 4, 4), torch.zeros(1))
    assert float(zero[0]) == 0
    assert mask_iou_targets(torch.zeros(0, 4, 4), torch.zeros(0, 4, 4),
                            torch.zeros(0)).shape == (0,)


def test_mask_iou_loss_is_half_the_mean_squared_error_on_positive_targets():
    from mmattn.models.roi_heads.mask_heads import CenterMaskIoUHead
    head = CenterMaskIoUHead(num_classes=3, roi_feat_size=14, in_channels=8)
    pred = torch.tensor([0.2, 0.9, 0.4])
    targets = torch.tensor([0.5, 0.0, 0.8])
    head.get_targets = lambda *args, **kwargs: targets
    loss = head.loss_and_target(pred, None, None, None, None, None)['loss_mask_iou']
    official = 0.5 * ((0.2 - 0.5) ** 2 + (0.4 - 0.8) ** 2) / 2  # centermask2's l2_loss
    assert float(loss) == pytest.approx(official)


def test_rescoring_changes_the_mask_scores_only():
    path = osp.join(REPO, 'configs/centermask/centermask-lite_vovnet19_fpn_4x_coco.py')
    model, _ = _build(path, score_thr=0.0)
    model.eval()
    data = _inputs(model, False)
    with torch.no_grad():
        results = model(**data, mode='predict')
        x = model.extract_feat(data['inputs'])
        boxes = model.bbox_head.predict(x, data['data_samples'], rescale=True)
    from mmdet.structures.bbox import bbox2roi
    for i, sample in enumerate(results):
        pred = sample.pred_instances
        torch.testing.assert_close(pred.scores, boxes[i].scores)  # FCOS's scores, untouched
        torch.testing.assert_close(pred.bboxes, boxes[i].bboxes)
        # the mask score: score x predicted IoU of the class, computed here from the heads
        with torch.no_grad():
            unscaled = pred.bboxes * pred.bboxes.new_tensor(
                sample.metainfo['scale_factor']).repeat(2)
            rois = bbox2roi([unscaled])
            rois[:, 0] = i  # this image's features
            shapes = [s.metainfo['img_shape'] for s in results]
            feats = model.roi_head.mask_roi_extractor(x[:3], rois, shapes)
            logits = model.roi_head.mask_head(feats)
            index = torch.arange(len(pred))
            iou = model.roi_head.mask_iou_head(feats, logits[index, pred.labels])
        torch.testing.assert_close(pred.mask_scores, pred.scores * iou[index, pred.labels],
                                   rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(rescore_masks(torch.tensor([0.5, 0.8]), torch.tensor([1, 0]),
                                             torch.tensor([[0.1, 0.2], [0.3, 0.4]])),
                               torch.tensor([0.1, 0.24]))


def test_coco_metric_uses_box_scores_for_bbox_and_mask_scores_for_segm(tmp_path):
    import json

    from mmdet.evaluation import CocoMetric
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(dict(
        images=[dict(id=1, width=20, height=20, file_name='a.png')], annotations=[],
        categories=[dict(id=1, name='a'), dict(id=2, name='b')])))
    metric = CocoMetric(ann_file=str(ann), metric=['bbox', 'segm'], format_only=True,
                        outfile_prefix=str(tmp_path / 'r'))
    metric.dataset_meta = dict(classes=('a', 'b'))
    masks = torch.zeros(2, 20, 20, dtype=torch.bool)
    masks[:, 2:8, 3:9] = True
    pred = dict(bboxes=torch.tensor([[3., 2., 9., 8.], [1., 1., 5., 5.]]),
                scores=torch.tensor([0.9, 0.6]), labels=torch.tensor([0, 1]),
                masks=masks, mask_scores=torch.tensor([0.45, 0.3]))
    metric.process({}, [dict(img_id=1, ori_shape=(20, 20), pred_instances=pred)])
    metric.compute_metrics(metric.results)
    bbox = json.load(open(tmp_path / 'r.bbox.json'))
    segm = json.load(open(tmp_path / 'r.segm.json'))
    assert [round(d['score'], 4) for d in bbox] == [0.9, 0.6]
    assert [round(d['score'], 4) for d in segm] == [0.45, 0.3]


def test_fcos_scores_are_the_square_root_of_mmdets():
    from mmdet.models.dense_heads import FCOSHead
    path = osp.join(REPO, 'configs/centermask/centermask-lite_vovnet19_fpn_4x_coco.py')
    model, cfg = _build(path, score_thr=0.0, nms=dict(type='nms', iou_threshold=0.6))
    model.eval()
    head_cfg = dict(cfg.model.bbox_head, test_cfg=cfg.model.test_cfg.bbox)
    head_cfg.pop('type')
    plain = FCOSHead(**head_cfg)
    plain.load_state_dict(model.bbox_head.state_dict())
    plain.eval()
    data = _inputs(model, False)
    with torch.no_grad():
        x = model.extract_feat(data['inputs'])
        ours = model.bbox_head.predict(x, data['data_samples'])
        theirs = plain.predict(x, data['data_samples'])
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.scores, torch.sqrt(b.scores))
        torch.testing.assert_close(a.bboxes, b.bboxes)
        torch.testing.assert_close(a.labels, b.labels)


def test_sag_mask_head_layout_and_initialisation():
    from mmattn.models.roi_heads.mask_heads import SAGMaskHead
    torch.manual_seed(0)
    head = SAGMaskHead(num_classes=80)
    head.init_weights()
    assert len(head.convs) == 4
    for conv in head.convs:
        assert conv.conv.kernel_size == (3, 3) and conv.conv.bias is not None
        assert conv.norm_cfg is None and conv.activate is not None
    assert head.upsample.kernel_size == (2, 2) and head.upsample.stride == (2, 2)
    assert head.conv_logits.kernel_size == (1, 1) and head.conv_logits.out_channels == 80
    assert float(head.conv_logits.weight.std()) == pytest.approx(0.001, rel=0.05)
    assert float(head.conv_logits.bias.abs().sum()) == 0
    fan_out = 256 * 9
    assert float(head.convs[1].conv.weight.std()) == pytest.approx(
        math.sqrt(2 / fan_out), rel=0.05)
    x = torch.randn(3, 256, 14, 14)
    out = head(x)
    assert out.shape == (3, 80, 28, 28)
    # the SAM sits between the convs and the deconv
    y = x
    for conv in head.convs:
        y = conv(y)
    y = head.sam(y)
    torch.testing.assert_close(out, head.conv_logits(torch.relu(head.upsample(y))))
    assert head(x[:0]).shape == (0, 80, 28, 28)


def _convert(*args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, 'tools/model_converters/centermask2_to_mmattn.py',
                           *args],
                          cwd=REPO, capture_output=True, text=True,
                          env=dict(__import__('os').environ, PYTHONPATH=REPO))


@pytest.mark.slow
@pytest.mark.parametrize('arch,lite,config', [
    ('V-19-eSE', True, 'centermask-lite_vovnet19_fpn_4x_coco.py'),
    ('V-39-eSE', False, 'centermask_vovnet39_fpn_ms-3x_coco.py')])
def test_centermask2_checkpoint_converts_and_loads(arch, lite, config, tmp_path):
    torch.manual_seed(0)
    official = {k: torch.randn(s) for k, s in official_centermask2_shapes(arch, lite).items()}
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save({'model': official, '__author__': 'centermask2'}, src)
    proc = _convert(str(src), str(dst))
    assert proc.returncode == 0, proc.stderr
    assert f'configs/centermask/{config}' in proc.stdout
    assert 'keep their initialisation' not in proc.stdout  # every model weight filled
    converted = torch.load(dst, weights_only=True)['state_dict']
    model, _ = _build(osp.join(REPO, 'configs/centermask', config))
    model.load_state_dict(converted, strict=True)
    pairs = {'proposal_generator.fcos_head.cls_logits.weight': 'bbox_head.conv_cls.weight',
             'proposal_generator.fcos_head.bbox_tower.3.weight':
                 'bbox_head.reg_convs.1.conv.weight',
             'proposal_generator.fcos_head.cls_tower.4.bias': 'bbox_head.cls_convs.1.gn.bias',
             'proposal_generator.fcos_head.scales.4.scale': 'bbox_head.scales.4.scale',
             'backbone.fpn_lateral4.weight': 'neck.lateral_convs.1.conv.weight',
             'backbone.top_block.p7.bias': 'neck.fpn_convs.4.conv.bias',
             'roi_heads.mask_head.mask_fcn2.weight': 'roi_head.mask_head.convs.1.conv.weight',
             'roi_heads.mask_head.spatialAtt.conv.weight': 'roi_head.mask_head.sam.conv.weight',
             'roi_heads.mask_head.deconv.weight': 'roi_head.mask_head.upsample.weight',
             'roi_heads.maskiou_head.maskiou_fc1.weight': 'roi_head.mask_iou_head.fcs.0.weight',
             'roi_heads.maskiou_head.maskiou.bias': 'roi_head.mask_iou_head.fc_mask_iou.bias',
             'backbone.bottom_up.stage5.OSA5_1.ese.fc.weight':
                 'backbone.stage5.OSA5_1.ese.fc.weight'}
    for theirs, ours in pairs.items():
        torch.testing.assert_close(model.state_dict()[ours].reshape(official[theirs].shape),
                                   official[theirs])
    assert len(converted) == len(official) - 2  # all but pixel_mean / pixel_std


@pytest.mark.slow
def test_centermask2_converter_fails_loudly_on_unknown_keys(tmp_path):
    official = {k: torch.zeros(s)
                for k, s in official_centermask2_shapes('V-19-eSE', True).items()}
    official['roi_heads.box_head.fc1.weight'] = torch.zeros(4, 4)
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save({'model': official}, src)
    proc = _convert(str(src), str(dst))
    assert proc.returncode == 2 and 'roi_heads.box_head.fc1.weight' in proc.stderr
    assert 'nothing written' in proc.stderr and not dst.exists()
    del official['roi_heads.box_head.fc1.weight']
    del official['proposal_generator.fcos_head.ctrness.bias']
    torch.save({'model': official}, src)
    proc = _convert(str(src), str(dst))
    assert proc.returncode == 0, proc.stderr
    assert '1 model weights are not in the file' in proc.stdout
    assert 'bbox_head.conv_centerness.bias' in proc.stdout


@pytest.mark.slow
def test_train_then_test_with_show_dir_on_synthetic_data(tmp_path):
    """tools/train.py and tools/test.py --show-dir with the CenterMask-Lite demo
    config on a tiny synthetic set: both metrics, mask scores and drawn images."""
    import json
    import os
    import pickle
    import subprocess
    import sys

    from mmattn.datasets.synthetic import make_synthetic_coco
    data = tmp_path / 'data'
    make_synthetic_coco(str(data), num_train=16, num_val=6, image_size=64, max_objects=3,
                        min_side=12, max_side=32, seed=3)
    ann = data / 'annotations' / 'instances_val.json'
    config = 'configs/demo/centermask-lite_vovnet19_slim_dw_synthetic.py'
    options = ['--cfg-options', *(f'{k}_dataloader.dataset.data_root={data}/'
                                  for k in ('train', 'val', 'test')),
               f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
               'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
               'model.test_cfg.bbox.score_thr=0.0']
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')

    def run(*cmd):
        proc = subprocess.run([sys.executable, *cmd], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]

    run('tools/train.py', config, '--work-dir', str(tmp_path / 'train'), *options)
    checkpoint = tmp_path / 'train' / 'epoch_1.pth'
    run('tools/test.py', config, str(checkpoint), '--work-dir', str(tmp_path / 'test'),
        '--show-dir', 'shown', '--out', str(tmp_path / 'preds.pkl'), *options)
    metrics = json.load(open(tmp_path / 'test' / 'test_metrics.json'))
    assert {'coco/bbox_mAP', 'coco/segm_mAP'} <= set(metrics)
    shown = list((tmp_path / 'test').glob('*/shown/*.png'))
    assert len(shown) == 6
    preds = pickle.load(open(tmp_path / 'preds.pkl', 'rb'))
    assert len(preds) == 6
    first = preds[0]['pred_instances']
    assert len(first['scores']) == len(first['mask_scores']) > 0
    # --fuse-conv-bn: the backbone's BNs folded into its convs, the same metrics
    run('tools/test.py', config, str(checkpoint), '--work-dir', str(tmp_path / 'fused'),
        '--fuse-conv-bn', *options)
    fused = json.load(open(tmp_path / 'fused' / 'test_metrics.json'))
    for key in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert fused[key] == pytest.approx(metrics[key], abs=1e-3)
    log = next((tmp_path / 'fused').glob('*/*.log')).read_text()
    assert 'FuseConvBNHook: folded' in log and 'folded 0 of' not in log
