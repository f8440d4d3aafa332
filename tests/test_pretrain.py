"""ImageNet pre-training through mmpretrain, and from its checkpoint to detection.

The mmpretrain tests skip only where mmpretrain is not installed (CI installs
it and fails on such a skip: see conftest.py)."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmattn.datasets.synthetic import SYNTHETIC_TEXTURES, make_synthetic_imagenet

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
IN1K_50 = 'configs/epsanet/imagenet/epsanet50_8xb32_in1k.py'
IN1K_101 = 'configs/epsanet/imagenet/epsanet101_8xb32_in1k.py'
DETECTION_50 = 'configs/epsanet/mask_rcnn_epsa50_coco.py'
ENV = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def _run(cmd, **kwargs):
    return subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, **kwargs)


def _mmpretrain():
    return pytest.importorskip('mmpretrain', reason='mmpretrain not installed '
                               '(pip install -e ".[pretrain]")')


def _build_classification(cfg: dict):
    """Build with mmpretrain's registry as mmpretrain's runner does (its scope)."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    import mmattn.pretrain  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


@pytest.fixture(scope='module')
def tiny_imagenet(tmp_path_factory):
    root = tmp_path_factory.mktemp('imagenet') / 'synthetic'
    make_synthetic_imagenet(str(root), num_classes=2, train_per_class=2, val_per_class=1,
                            image_size=32, seed=1)
    return str(root)


def _tiny_options(data_root, work_dir):
    """2 iterations (4 images, batch 2), one validation."""
    return ['--work-dir', str(work_dir), '--cfg-options',
            f'train_dataloader.dataset.data_root={data_root}',
            f'val_dataloader.dataset.data_root={data_root}',
            'train_dataloader.batch_size=2', 'val_dataloader.batch_size=2',
            'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
            'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1']


@pytest.fixture(scope='module')
def our_checkpoint(tiny_imagenet, tmp_path_factory):
    """Two iterations of the EPSANet-50 ImageNet config with tools/train.py."""
    _mmpretrain()
    work = tmp_path_factory.mktemp('ours')
    proc = _run([sys.executable, 'tools/train.py', IN1K_50, *_tiny_options(tiny_imagenet, work)],
                timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work


@pytest.fixture(scope='module')
def mmpretrain_checkpoint(tiny_imagenet, tmp_path_factory):
    """The same with mmpretrain's own tools/train.py (plain mmengine Runner:
    its checkpoints carry HistoryBuffer objects and numpy values)."""
    mmpretrain = _mmpretrain()
    train = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools', 'train.py')
    work = tmp_path_factory.mktemp('mmpretrain')
    proc = _run([sys.executable, train, IN1K_50, '--no-persistent-workers',
                 *_tiny_options(tiny_imagenet, work)], timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work / 'epoch_1.pth'


def _reference_weights(path):
    """The checkpoint's weights, read the trusting way (independent of mmattn)."""
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


def _without_scope(cfg) -> dict:
    return {k: v for k, v in cfg.items() if k != '_scope_'}


def test_imagenet_configs_follow_the_official_recipe():
    _mmpretrain()
    import mmattn.pretrain  # noqa: F401
    for path, depth in ((IN1K_50, 50), (IN1K_101, 101)):
        cfg = Config.fromfile(osp.join(REPO, path))
        assert cfg.custom_imports.imports == ['mmattn.pretrain']
        assert cfg.model.type == 'ImageClassifier'
        assert cfg.model.backbone.type == 'EPSANet' and cfg.model.backbone.depth == depth
        assert cfg.model.neck.type == 'GlobalAveragePooling'
        assert cfg.model.head.type == 'LinearClsHead'
        assert cfg.model.head.loss == dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                                           mode='original', loss_weight=1.0)
        optimizer = _without_scope(cfg.optim_wrapper.optimizer)
        assert optimizer == dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)
        assert cfg.train_cfg.max_epochs == 120
        assert cfg.param_scheduler.milestones == [30, 60, 90]
        assert cfg.param_scheduler.gamma == 0.1
        assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 256
        train_types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
        assert train_types == ['LoadImageFromFile', 'RandomResizedCrop', 'RandomFlip',
                               'PackInputs']
        assert cfg.train_dataloader.dataset.pipeline[1].scale == 224
        val = {t['type']: t for t in cfg.val_dataloader.dataset.pipeline}
        assert val['ResizeEdge'].scale == 256 and val['CenterCrop'].crop_size == 224
        assert cfg.data_preprocessor.mean == [123.675, 116.28, 103.53]
        assert cfg.data_preprocessor.std == [58.395, 57.12, 57.375]
        assert _without_scope(cfg.val_evaluator) == dict(type='Accuracy', topk=(1, 5))
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            assert cfg[loader].dataset.data_root == 'data/imagenet'


def test_official_label_smoothing_is_what_the_config_computes():
    """mmpretrain's LabelSmoothLoss('original') equals the official
    CrossEntropyLabelSmooth: (1 - e) * onehot + e / K, mean over the batch."""
    _mmpretrain()
    cfg = Config.fromfile(osp.join(REPO, IN1K_50))
    loss = _build_classification(dict(cfg.model.head.loss, num_classes=7))
    logits, target = torch.randn(5, 7, dtype=torch.float64), torch.tensor([0, 3, 6, 2, 2])
    smoothed = torch.full((5, 7), 0.1 / 7, dtype=torch.float64)
    smoothed[torch.arange(5), target] += 0.9
    official = (-smoothed * torch.log_softmax(logits, 1)).mean(0).sum()
    assert torch.allclose(loss(logits, target), official)


@pytest.mark.slow
def test_two_iterations_write_a_checkpoint_and_top1(our_checkpoint):
    import json
    assert (our_checkpoint / 'epoch_1.pth').is_file()
    metrics = json.load(open(our_checkpoint / 'val_metrics.json'))
    assert 0 <= metrics['accuracy/top1'] <= 100
    # mmattn's runner writes checkpoints that plain weights_only loading accepts
    torch.load(our_checkpoint / 'epoch_1.pth', map_location='cpu', weights_only=True)


def _detector_from(checkpoint, config=DETECTION_50):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    cfg.model.backbone.init_cfg.checkpoint = str(checkpoint)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _assert_backbone_equals(model, weights, prefix='backbone.', not_backbone=()):
    own = model.backbone.state_dict()
    expected = {k[len(prefix):]: v for k, v in weights.items()
                if k.startswith(prefix) and k[len(prefix):] not in not_backbone}
    assert own.keys() == expected.keys()
    for key, value in own.items():
        assert torch.equal(value, expected[key]), key


@pytest.mark.slow
@pytest.mark.parametrize('which', ['ours', 'mmpretrain'])
def test_classification_checkpoint_initialises_the_detector_backbone_exactly(
        which, our_checkpoint, mmpretrain_checkpoint):
    path = our_checkpoint / 'epoch_1.pth' if which == 'ours' else mmpretrain_checkpoint
    if which == 'mmpretrain':  # the case torch >= 2.6 refuses by default
        with pytest.raises(Exception, match='Weights only load failed'):
            torch.load(path, map_location='cpu', weights_only=True)
    allowed_before = list(torch.serialization.get_safe_globals())
    model = _detector_from(path)
    _assert_backbone_equals(model, _reference_weights(path))
    # loading changed nothing process-wide
    assert list(torch.serialization.get_safe_globals()) == allowed_before
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(mmpretrain_checkpoint, map_location='cpu', weights_only=True)


@pytest.mark.slow
def test_epsanet101_detection_config_takes_the_101_checkpoint(tmp_path):
    _mmpretrain()
    cfg = Config.fromfile(osp.join(REPO, IN1K_101))
    classifier = _build_classification(cfg.model)
    classifier.init_weights()
    path = tmp_path / 'epsanet101.pth'
    torch.save({'state_dict': classifier.state_dict(), 'meta': {'eta': np.float64(1.5)}}, path)
    model = _detector_from(path, 'configs/epsanet/mask_rcnn_epsa101_coco.py')
    _assert_backbone_equals(model, classifier.state_dict())


@pytest.mark.slow
def test_converter_round_trip(mmpretrain_checkpoint, tmp_path):
    out = tmp_path / 'backbone.pth'
    proc = _run([sys.executable, 'tools/model_converters/mmpretrain_to_mmattn.py',
                 str(mmpretrain_checkpoint), str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'head.fc.weight' in proc.stdout
    source = _reference_weights(mmpretrain_checkpoint)
    converted = torch.load(out, map_location='cpu', weights_only=True)['state_dict']
    assert set(converted) == {k[len('backbone.'):] for k in source if k.startswith('backbone.')}
    for key, value in converted.items():
        assert torch.equal(value, source['backbone.' + key]), key
    # the backbone-only file initialises the detector as the full one does
    _assert_backbone_equals(_detector_from(out), source)
    proc = _run([sys.executable, 'tools/model_converters/mmpretrain_to_mmattn.py',
                 str(mmpretrain_checkpoint), str(tmp_path / 'x.pth'), '--prefix', 'neck.'])
    assert proc.returncode == 2 and "no keys under --prefix 'neck.'" in proc.stderr
    assert not (tmp_path / 'x.pth').exists()


def test_official_main_py_checkpoint_still_loads_through_the_detection_config(tmp_path):
    """An official main.py checkpoint (DataParallel ``module.`` keys, fc, no
    ``backbone.`` prefix) loads through the same config, prefix and all."""
    from mmattn.models import EPSANet
    reference = EPSANet(depth=50, channels_last=False)
    reference.init_weights()
    official = {f'module.{k}': v.clone() for k, v in reference.state_dict().items()}
    official['module.fc.weight'] = torch.randn(1000, 2048)
    official['module.fc.bias'] = torch.randn(1000)
    path = tmp_path / 'model_best.pth.tar'
    torch.save({'epoch': 120, 'arch': 'epsanet50', 'state_dict': official,
                'best_prec1': torch.tensor(77.49)}, path)
    model = _detector_from(path)
    _assert_backbone_equals(model, official, prefix='module.',
                            not_backbone=('fc.weight', 'fc.bias'))


@pytest.mark.slow
def test_main_package_does_not_import_mmpretrain():
    code = ('import sys; sys.modules["mmpretrain"] = None\n'  # any import of it fails
            'import mmattn, mmattn.models, mmattn.engine, mmattn.utils, '
            'mmattn.analysis.backbone_timing, mmattn.analysis.memory, '
            'mmattn.converters.vovnet_checkpoints, mmattn.datasets.synthetic, mmattn.cli.train, '
            'mmattn.cli.test\n'
            'from mmattn.models import EPSANet; EPSANet(depth=50)\n'
            'print("ok")')
    proc = _run([sys.executable, '-c', code])
    assert proc.returncode == 0 and proc.stdout.strip() == 'ok', proc.stderr[-2000:]
    for root, _, files in os.walk(osp.join(REPO, 'mmattn')):
        for name in files:
            path = osp.join(root, name)
            if name.endswith('.py') and osp.join('mmattn', 'pretrain') not in path:
                text = open(path, encoding='utf-8').read()
                assert 'import mmpretrain' not in text and 'from mmpretrain' not in text, path


@pytest.mark.slow
def test_pretrain_module_without_mmpretrain_says_how_to_install():
    proc = _run([sys.executable, '-c', 'import sys; sys.modules["mmpretrain"] = None\n'
                 'import mmattn.pretrain'])
    assert proc.returncode != 0
    assert 'pip install -e ".[pretrain]"' in proc.stderr


def test_synthetic_imagenet_is_deterministic_and_mmpretrain_reads_it(tmp_path):
    a = make_synthetic_imagenet(str(tmp_path / 'a'), num_classes=3, train_per_class=4,
                                val_per_class=2, image_size=32, seed=4)
    make_synthetic_imagenet(str(tmp_path / 'b'), num_classes=3, train_per_class=4,
                            val_per_class=2, image_size=32, seed=4)
    assert open(a['train']).read() == open(tmp_path / 'b' / 'meta' / 'train.txt').read()
    assert (tmp_path / 'a' / 'val' / 'val_000003.JPEG').read_bytes() == \
        (tmp_path / 'b' / 'val' / 'val_000003.JPEG').read_bytes()
    labels = [int(line.split()[1]) for line in open(a['val'])]
    assert sorted(labels) == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match='num_classes=9 must be an integer in'):
        make_synthetic_imagenet(str(tmp_path / 'c'), num_classes=9)
    assert not (tmp_path / 'c').exists()
    _mmpretrain()
    from mmpretrain.datasets import ImageNet
    for split, count in (('train', 12), ('val', 6)):
        dataset = ImageNet(data_root=str(tmp_path / 'a'), split=split, pipeline=[])
        assert len(dataset) == count
        info = dataset.get_data_info(0)
        assert osp.isfile(info['img_path'])
        assert info['gt_label'] == int(open(a[split]).readline().split()[1])
    assert len(SYNTHETIC_TEXTURES) == 6


@pytest.mark.slow
@pytest.mark.parametrize('launcher', ['train.py', 'dist_train.sh'])
def test_missing_weights_and_data_are_one_short_message(launcher, tmp_path):
    options = ['--work-dir', str(tmp_path / 'work'), '--cfg-options',
               f'train_dataloader.dataset.data_root={tmp_path}/coco/',
               f'val_dataloader.dataset.data_root={tmp_path}/coco/',
               f'model.backbone.init_cfg.checkpoint={tmp_path}/weights.pth']
    if launcher == 'train.py':
        cmd = [sys.executable, 'tools/train.py', DETECTION_50, *options]
    else:
        cmd = ['bash', 'tools/dist_train.sh', DETECTION_50, '2', *options]
    proc = _run(cmd, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'Traceback' not in output
    lines = output.strip().splitlines()
    assert len(lines) <= 12, output
    assert output.count(f"'{tmp_path}/weights.pth' does not exist") == 1  # once, not per rank
    assert output.count(f"train_dataloader: data_root '{tmp_path}/coco/' does not exist") == 1
    assert f"val_dataloader: data_root '{tmp_path}/coco/' does not exist" in output
    assert 'configs/epsanet/imagenet/epsanet50_8xb32_in1k.py' in output  # 1. pre-train
    assert '--cfg-options model.backbone.init_cfg.checkpoint=PATH' in output  # 2. a file
    assert 'configs/epsanet/scratch/' in output  # 3. from scratch
    assert not (tmp_path / 'work').exists()  # stopped before the runner was built


@pytest.mark.slow
@pytest.mark.parametrize('path', ['configs/epsanet/imagenet/epsanet50_8xb32_in1k.py',
                                  'configs/epsanet/imagenet/epsanet101_8xb32_in1k.py',
                                  'configs/demo/epsanet50_synthetic_imagenet.py'])
def test_classification_config_builds_and_trains_one_step(path):
    _mmpretrain()
    from mmpretrain.structures import DataSample
    cfg = Config.fromfile(osp.join(REPO, path))
    model = _build_classification(dict(cfg.model, data_preprocessor=dict(
        type='ClsDataPreprocessor', **cfg.data_preprocessor)))
    model.init_weights()
    model.train()
    num_classes = cfg.model.head.num_classes
    samples = [DataSample().set_gt_label(i % num_classes) for i in range(2)]
    data = model.data_preprocessor(
        dict(inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)] * 2,
             data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss'])
    losses['loss'].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0


@pytest.mark.slow
@pytest.mark.parametrize('config', [IN1K_50, 'configs/demo/epsanet50_synthetic_imagenet.py'])
def test_imagenet_config_without_mmpretrain_is_one_clear_line(config):
    code = ('import builtins, sys\n'
            'real = builtins.__import__\n'
            'def without_mmpretrain(name, *args, **kwargs):\n'
            '    if name.split(".")[0] == "mmpretrain":\n'
            '        raise ImportError("No module named mmpretrain")\n'
            '    return real(name, *args, **kwargs)\n'
            'builtins.__import__ = without_mmpretrain\n'
            'from mmattn.cli.train import main\n'
            f'sys.exit(main([{config!r}, "--preflight"]))\n')
    proc = _run([sys.executable, '-c', code])
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    assert f"config '{config}' is an mmpretrain (ImageNet pre-training) config" in proc.stderr
    assert 'pip install -e ".[pretrain]"' in proc.stderr
