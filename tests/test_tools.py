"""tools/: 2-process train and test on the synthetic set, interruption and
resume, and the error messages users see."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time
import zipfile

import cv2
import numpy as np
import pytest
import torch

from mmattn.datasets.synthetic import make_synthetic_coco
from mmattn.engine import find_latest_valid_checkpoint
from mmattn.utils.checkpoint import is_complete_checkpoint

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = 'configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py'
ENV = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('data') / 'synthetic'
    make_synthetic_coco(str(root), num_train=24, num_val=8, image_size=64, max_objects=3,
                        min_side=12, max_side=32, seed=3)
    return str(root)


def _tiny_options(data_root, work_dir, epochs=2, extra=()):
    ann = osp.join(data_root, 'annotations', 'instances_val.json')
    return ['--work-dir', str(work_dir), '--cfg-options',
            f'train_dataloader.dataset.data_root={data_root}/',
            f'val_dataloader.dataset.data_root={data_root}/',
            f'test_dataloader.dataset.data_root={data_root}/',
            f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
            f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=1',
            'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=-1', *extra]


def _run(cmd, **kwargs):
    return subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, **kwargs)


@pytest.mark.slow
def test_two_process_train_then_test_give_bbox_and_segm_metrics(tiny_data, tmp_path):
    work = tmp_path / 'work'
    proc = _run(['bash', 'tools/dist_train.sh', DEMO, '2', *_tiny_options(tiny_data, work)],
                timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the ranks' BN statistics are averaged before each checkpoint and validation
    assert 'SyncBuffersHook' in proc.stdout + proc.stderr
    for epoch in (1, 2):
        metrics = json.load(open(work / f'val_metrics_epoch_{epoch}.json'))
        assert {'coco/bbox_mAP', 'coco/bbox_mAP_50',
                'coco/segm_mAP', 'coco/segm_mAP_50'} <= set(metrics)
    assert is_complete_checkpoint(str(work / 'epoch_2.pth'))
    assert not list(work.glob('*.part'))
    test_work = tmp_path / 'test'
    proc = _run(['bash', 'tools/dist_test.sh', DEMO, str(work / 'epoch_2.pth'), '2',
                 '--out', str(tmp_path / 'preds.pkl'),
                 *_tiny_options(tiny_data, test_work)], timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    test_metrics = json.load(open(test_work / 'test_metrics.json'))
    val_metrics = json.load(open(work / 'val_metrics_epoch_2.json'))
    # the same weights on the same images give the same AP
    for key in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert test_metrics[key] == pytest.approx(val_metrics[key], abs=1e-6)
    assert osp.getsize(tmp_path / 'preds.pkl') > 0


def _train_cmd(data, work, resume=False, loader=()):
    cmd = [sys.executable, 'tools/train.py', DEMO,
           *_tiny_options(data, work, epochs=3,
                          extra=['randomness.seed=0', 'randomness.deterministic=True',
                                 'train_cfg.val_interval=100', *loader])]
    return cmd + (['--resume'] if resume else [])


def _weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


@pytest.mark.slow
@pytest.mark.parametrize('loader', [
    (),  # the demo's num_workers=0
    ('train_dataloader.num_workers=2', 'train_dataloader.persistent_workers=True'),
], ids=['main-process', '2-persistent-workers'])
def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tiny_data, tmp_path, loader):
    ref_work, work = tmp_path / 'ref', tmp_path / 'killed'
    proc = _run(_train_cmd(tiny_data, ref_work, loader=loader), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]

    log = open(tmp_path / 'killed.log', 'w')
    # its own process group, killed whole (as a job scheduler does), data workers included
    child = subprocess.Popen(_train_cmd(tiny_data, work, loader=loader), cwd=REPO, env=ENV,
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline:  # wait until epoch 3 is under way, then SIGKILL
        text = open(tmp_path / 'killed.log').read()
        if 'Epoch(train) [3][2/' in text:
            break
        assert child.poll() is None, text[-3000:]
        time.sleep(0.2)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert not (work / 'epoch_3.pth').exists()
    assert find_latest_valid_checkpoint(str(work)).endswith('epoch_2.pth')

    proc = _run(_train_cmd(tiny_data, work, resume=True, loader=loader), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'resumed epoch: 2' in proc.stdout + proc.stderr
    ref, resumed = _weights(ref_work / 'epoch_3.pth'), _weights(work / 'epoch_3.pth')
    assert ref.keys() == resumed.keys()
    for key in ref:
        assert torch.equal(ref[key], resumed[key]), key


def test_half_written_checkpoint_is_never_picked(tmp_path):
    good = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {'w': torch.ones(1000)}}, good)
    data = good.read_bytes()
    (tmp_path / 'epoch_2.pth').write_bytes(data[:len(data) // 2])  # cut off mid-write
    (tmp_path / 'epoch_3.pth.part').write_bytes(data[:10])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert not is_complete_checkpoint(str(tmp_path / 'epoch_2.pth'))
    assert find_latest_valid_checkpoint(str(tmp_path)) == str(good)
    (tmp_path / 'last_checkpoint').write_text('')  # pointer itself cut off
    assert find_latest_valid_checkpoint(str(tmp_path)) == str(good)


def test_test_out_never_replaces_a_file_unasked(tmp_path, capsys):
    """``tools/test.py --out`` refuses an existing file (one message, before
    anything runs, the file untouched) unless ``--overwrite``; and the
    checkpoint itself is never a valid --out."""
    from mmattn.cli.test import main
    out = tmp_path / 'preds.pkl'
    out.write_bytes(b'users file')
    checkpoint = tmp_path / 'model.pkl'
    checkpoint.write_bytes(b'weights')
    work = ['--work-dir', str(tmp_path / 'work')]
    assert main([DEMO, str(tmp_path / 'no.pth'), '--out', str(out), *work]) == 2
    err = capsys.readouterr().err
    assert f"--out '{out}' already exists and was not written by this command" in err
    assert '--overwrite to replace it' in err and 'Traceback' not in err
    assert err.count('mmattn-test: error:') == 1
    assert out.read_bytes() == b'users file'
    assert main([DEMO, str(checkpoint), '--out', str(checkpoint), '--overwrite', *work]) == 2
    assert f"is the input '{checkpoint}' itself" in capsys.readouterr().err
    assert checkpoint.read_bytes() == b'weights'
    # with --overwrite the check lets it through (to the next one: the missing checkpoint)
    assert main([DEMO, str(tmp_path / 'no.pth'), '--out', str(out), '--overwrite', *work]) == 2
    err = capsys.readouterr().err
    assert 'already exists' not in err and 'no.pth' in err
    assert out.read_bytes() == b'users file'


@pytest.mark.slow
def test_missing_config_is_a_clear_error():
    proc = _run([sys.executable, 'tools/train.py', 'configs/nope/missing.py'])
    assert proc.returncode == 2
    assert "config file 'configs/nope/missing.py' does not exist" in proc.stderr
    assert 'Traceback' not in proc.stderr


@pytest.mark.slow
def test_missing_dataset_folder_and_annotation_file(tiny_data, tmp_path):
    proc = _run([sys.executable, 'tools/train.py', DEMO, '--work-dir', str(tmp_path),
                 '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/absent/'])
    assert proc.returncode == 2
    assert f"data_root '{tmp_path}/absent/' does not exist" in proc.stderr
    proc = _run([sys.executable, 'tools/train.py', DEMO, '--work-dir', str(tmp_path),
                 '--cfg-options', f'train_dataloader.dataset.data_root={tiny_data}/',
                 'train_dataloader.dataset.ann_file=annotations/other.json'])
    assert proc.returncode == 2
    assert f"annotation file '{tiny_data}/annotations/other.json' does not exist" in proc.stderr


@pytest.mark.slow
def test_image_listed_but_missing(tiny_data, tmp_path):
    import shutil
    data = tmp_path / 'copy'
    shutil.copytree(tiny_data, data)
    os.remove(data / 'train' / 'train_000005.png')
    proc = _run([sys.executable, 'tools/train.py', DEMO, '--work-dir', str(tmp_path / 'w'),
                 *(_tiny_options(str(data), tmp_path / 'w')[2:])])
    assert proc.returncode == 2
    assert 'train_000005.png' in proc.stderr and 'missing' in proc.stderr


@pytest.mark.slow
def test_image_listed_but_unreadable(tiny_data, tmp_path):
    import shutil
    data = tmp_path / 'copy'
    shutil.copytree(tiny_data, data)
    (data / 'val' / 'val_000002.png').write_bytes(b'not a png')
    proc = _run([sys.executable, 'tools/train.py', DEMO, '--work-dir', str(tmp_path / 'w'),
                 *(_tiny_options(str(data), tmp_path / 'w')[2:])])
    assert proc.returncode == 2
    assert 'val_dataloader: 1 image(s)' in proc.stderr and 'not readable as images' in proc.stderr
    assert 'val_000002.png' in proc.stderr and 'Traceback' not in proc.stderr


@pytest.mark.slow
def test_more_processes_than_gpus_is_refused(monkeypatch, capsys):
    sys.path.insert(0, osp.join(REPO, 'tools', 'misc'))
    try:
        import check_nproc
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    monkeypatch.setattr(sys, 'argv', ['check_nproc.py', '8'])
    assert check_nproc.main() == 2
    assert 'N=8 processes requested but only 2 GPU(s) are visible' in capsys.readouterr().err
    monkeypatch.setattr(sys, 'argv', ['check_nproc.py', '2'])
    assert check_nproc.main() == 0
    proc = _run(['bash', 'tools/dist_train.sh', DEMO, 'zero'])
    assert proc.returncode == 2 and "N='zero' must be a positive integer" in proc.stderr


@pytest.mark.slow
def test_amp_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip('CUDA present')
    proc = _run([sys.executable, 'tools/train.py', DEMO, '--amp'])
    assert proc.returncode == 2 and '--amp needs a CUDA device' in proc.stderr


def test_synthetic_dataset_is_deterministic_with_exact_masks(tmp_path):
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    a = make_synthetic_coco(str(tmp_path / 'a'), num_train=12,
                            num_val=4, empty_fraction=0.3, seed=5)
    b = make_synthetic_coco(str(tmp_path / 'b'), num_train=12,
                            num_val=4, empty_fraction=0.3, seed=5)
    assert open(a['train']).read() == open(b['train']).read()
    assert (tmp_path / 'a' / 'train' / 'train_000003.png').read_bytes() == \
        (tmp_path / 'b' / 'train' / 'train_000003.png').read_bytes()
    coco = COCO(a['train'])
    assert any(not coco.getAnnIds(imgIds=i) for i in coco.getImgIds()), 'no empty image'
    assert len({ann['category_id'] for ann in coco.anns.values()}) == 4
    for ann in coco.anns.values():
        rle = coco.annToRLE(ann)
        # the rasterised polygon's area agrees with the polygon's exact area
        assert abs(float(mask_utils.area(rle)) - ann['area']) <= 0.15 * ann['area'] + 20
    with pytest.raises(ValueError, match='num_train=0 must be an integer >= 1'):
        make_synthetic_coco(str(tmp_path / 'c'), num_train=0)
    assert not (tmp_path / 'c').exists()


@pytest.mark.slow
def test_missing_or_truncated_checkpoint_is_a_clear_error(tmp_path):
    cut = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {'w': torch.ones(1000)}}, cut)
    cut.write_bytes(cut.read_bytes()[:100])
    proc = _run([sys.executable, 'tools/train.py', DEMO, '--resume', str(tmp_path / 'nope.pth')])
    assert proc.returncode == 2
    assert f"--resume checkpoint '{tmp_path}/nope.pth' does not exist" in proc.stderr
    proc = _run([sys.executable, 'tools/test.py', DEMO, str(cut)])
    assert proc.returncode == 2
    assert f"checkpoint '{cut}' is incomplete or corrupt" in proc.stderr
    assert 'Traceback' not in proc.stderr


@pytest.mark.slow
def test_cpu_ddp_keeps_the_configs_wrapper_settings_and_local_rank():
    if torch.cuda.is_available():
        pytest.skip('CUDA present')
    code = ('import os\n'
            'from mmengine.config import Config\n'
            'from mmattn.cli.distributed import setup_distributed\n'
            'cfg = Config(dict(model=dict(type="X", norm_cfg=dict(type="SyncBN")),\n'
            '                  model_wrapper_cfg=dict(type="MMDistributedDataParallel",\n'
            '                                         find_unused_parameters=True)))\n'
            'setup_distributed(cfg, "pytorch", local_rank=3)\n'
            'print(dict(cfg.model_wrapper_cfg), cfg.model.norm_cfg.type,\n'
            '      os.environ["LOCAL_RANK"])\n')
    env = {k: v for k, v in ENV.items() if k != 'LOCAL_RANK'}
    env.update(RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1', MASTER_PORT='29577')
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ("{'type': 'MMDistributedDataParallel', 'find_unused_parameters': True, "
            "'device_ids': None, 'broadcast_buffers': False} BN 3") in proc.stdout


@pytest.mark.slow
def test_class_names_missing_from_the_annotation_file_are_named(tiny_data, tmp_path):
    proc = _run([sys.executable, 'tools/train.py', DEMO,
                 *_tiny_options(tiny_data, tmp_path / 'w', extra=[
                     "train_dataloader.dataset.metainfo.classes=('rectangle','hexagon')"])])
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert ("train_dataloader: 1 of the 2 class names the config uses are not categories of "
            f"'{tiny_data}/annotations/instances_train.json': 'hexagon'; the file has "
            "'rectangle', 'triangle', 'circle', 'star'") in proc.stderr
    assert 'metainfo.classes' in proc.stderr


@pytest.mark.slow
def test_synthetic_coco_layout_runs_the_coco_configs_unchanged(tmp_path):
    """--layout coco: COCO 2017's names and categories, so a COCO config's
    pre-flight passes as it is (and its hint for a missing folder says so)."""
    data = tmp_path / 'coco'
    proc = _run([sys.executable, 'tools/train.py', 'configs/epsanet/mask_rcnn_epsa50_coco.py',
                 '--preflight', '--cfg-options', f'train_dataloader.dataset.data_root={data}/',
                 f'val_dataloader.dataset.data_root={data}/', 'model.backbone.init_cfg=None'])
    assert proc.returncode == 2
    hint = f'python tools/misc/make_synthetic_coco.py {data}/ --layout coco'
    assert hint in proc.stderr
    subprocess.run([sys.executable, 'tools/misc/make_synthetic_coco.py', f'{data}/', '--layout',
                    'coco', '--num-train', '6', '--num-val', '2'],
                   cwd=REPO, env=ENV, check=True, capture_output=True)
    assert (data / 'annotations' / 'instances_val2017.json').is_file()
    assert (data / 'train2017' / 'train_000000.png').is_file()
    # (the evaluator reads its own ann_file: overriding data_root alone is refused)
    proc = _run([sys.executable, 'tools/train.py', 'configs/epsanet/mask_rcnn_epsa50_coco.py',
                 '--preflight', '--cfg-options', f'train_dataloader.dataset.data_root={data}/',
                 f'val_dataloader.dataset.data_root={data}/', 'model.backbone.init_cfg=None',
                 f'val_evaluator.ann_file={data}/annotations/instances_val2017.json'])
    assert proc.returncode == 0, proc.stderr
    from mmdet.datasets import CocoDataset
    dataset = CocoDataset(data_root=f'{data}/', ann_file='annotations/instances_train2017.json',
                          data_prefix=dict(img='train2017/'), pipeline=[],
                          filter_cfg=dict(filter_empty_gt=True))
    labels = {int(i['bbox_label']) for d in dataset for i in d['instances']}
    names = {CocoDataset.METAINFO['classes'][k] for k in labels}
    assert names <= {'book', 'kite', 'sports ball', 'frisbee'} and names


@pytest.mark.slow
def test_compile_modules_compiles_backbone_and_neck_in_place(tiny_data, tmp_path):
    """``compile=dict(modules=[...])``: the named submodules run compiled
    (``backend='aot_eager'`` here, to keep the test short), training and
    evaluation complete, and the checkpoint keeps the model's own state-dict
    names (no ``_orig_mod.``), loadable by the eager model."""
    work = tmp_path / 'work'
    proc = _run([sys.executable, 'tools/train.py', DEMO,
                 *_tiny_options(tiny_data, work, epochs=1,
                                extra=['compile.modules=[backbone,neck]',
                                       'compile.backend=aot_eager'])], timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "torch.compile applied to backbone, neck ({'backend': 'aot_eager'})" in proc.stdout
    assert 'coco/segm_mAP' in json.load(open(work / 'val_metrics_epoch_1.json'))
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    model = MODELS.build(Config.fromfile(osp.join(REPO, DEMO)).model)
    missing, unexpected = model.load_state_dict(_weights(work / 'epoch_1.pth'), strict=True)
    assert not missing and not unexpected


@pytest.mark.slow
def test_compile_modules_names_a_missing_module(tiny_data, tmp_path):
    proc = _run([sys.executable, 'tools/train.py', DEMO,
                 *_tiny_options(tiny_data, tmp_path / 'work', epochs=1,
                                extra=['compile.modules=[backbone,bakbone]'])], timeout=300)
    assert proc.returncode == 2
    assert ("compile.modules: the model has no submodule 'bakbone'; its top-level modules "
            'are: data_preprocessor, backbone, neck, rpn_head, roi_head') in proc.stderr
    assert 'Traceback' not in proc.stderr


@pytest.mark.slow
def test_import_mmattn_leaves_tool_code_unimported():
    """``import mmattn`` registers the models and engine only: the analysis,
    converter, synthetic-data and pre-training code load on demand."""
    code = ('import sys, mmattn\n'
            'print(sorted(m for m in sys.modules if m.startswith(("mmattn.analysis", '
            '"mmattn.converters", "mmattn.datasets.synthetic", "mmattn.pretrain",\n'
            '"mmattn.cli"))))')
    proc = _run([sys.executable, '-c', code])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == '[]'


def test_each_step_is_compiled_once():
    """``val()`` after ``train()`` (or a second ``test()``) must not wrap an
    already compiled step in ``torch.compile`` again."""
    import logging

    from mmengine.config import Config

    from mmattn.engine import SafeCheckpointRunner
    from mmattn.engine.compile_steps import compile_step

    class Model(torch.nn.Module):
        def test_step(self, data):
            return data

    runner = object.__new__(SafeCheckpointRunner)  # only what compile_step reads
    runner.cfg = Config(dict(compile=dict(backend='eager')))
    runner.model = Model()
    runner.logger = logging.getLogger('test')
    compile_step(runner, 'test_step')
    compiled = runner.model.test_step
    assert getattr(compiled, '__func__', None) is not Model.test_step  # wrapped by torch.compile
    compile_step(runner, 'test_step')
    assert runner.model.test_step is compiled


# ------------------------------------------------------------------------
# First contact: each mistake a user can make on the command line is one
# message, printed once per launch (not once per rank), with no traceback and
# nothing left on disk, under train.py and under dist_train.sh with 2 processes.
def _ann_variant(data_root, tmp_path, change):
    """The tiny set's train annotation file, changed, written beside it."""
    data = json.load(open(osp.join(data_root, 'annotations', 'instances_train.json')))
    raw = change(data)
    path = tmp_path / 'ann.json'
    if isinstance(raw, bytes):
        path.write_bytes(raw)
    else:
        path.write_text(json.dumps(raw))
    return ['--cfg-options', f'train_dataloader.dataset.ann_file={path}']


def _cut(path, legacy=False):
    torch.save({'state_dict': {'w': torch.randn(2000)}}, path,
               _use_new_zipfile_serialization=not legacy)
    path.write_bytes(path.read_bytes()[:900])
    return path


def _pretrained_config(tmp_path, checkpoint):
    config = tmp_path / 'pretrained.py'
    config.write_text(f"_base_ = '{osp.join(REPO, DEMO)}'\n"
                      f"model = dict(backbone=dict(init_cfg=dict(\n"
                      f"    _delete_=True, type='Pretrained', checkpoint='{checkpoint}')))\n")
    return str(config)


def _polygon_string(data):
    data['annotations'][0]['segmentation'] = [['1', 2, 3, 4, 5, 6]]
    return data


def _all_invalid(data):
    for ann in data['annotations']:
        ann['segmentation'] = [[1.0, 2.0, 3.0, 4.0]]  # 2 points
        ann['bbox'][2] = 0.0
    return data


def _huge_polygon(data):
    data['annotations'][0]['segmentation'] = [[0, 0, 1e9, 0, 1e9, 1e9]]  # pycocotools: rc 139
    return data


def _nan_width(data):
    for image in data['images']:
        image['width'] = float('nan')
    return data


def _image_replaced(data, path):
    """Every image record points at ``path`` (absolute: mmdet joins it as is)."""
    for image in data['images']:
        image['file_name'] = str(path)
    return data


def _cut_jpeg(path):
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[:data.index(b'\xff\xda') + 200])  # cut after its start of scan
    return path


def _image_bomb(path):
    from PIL import Image
    Image.new('1', (30000, 30000)).save(path, optimize=True)  # 900 Mpx in ~110 KB
    return path


def _short_storage(tmp_path):
    full, short = tmp_path / 'full.pth', tmp_path / 'short.pth'
    torch.save({'state_dict': {'w': torch.ones(100)}}, full)
    with zipfile.ZipFile(full) as archive, zipfile.ZipFile(short, 'w') as out:
        for info in archive.infolist():
            data = archive.read(info)
            out.writestr(info.filename, data[:40] if info.filename.endswith('data/0') else data)
    return short


FIRST_CONTACT = {
    'polygon-far-outside-its-image': (lambda d, t: _ann_variant(d, t, _huge_polygon),
                                      'a polygon lies outside its 64x64 image'),
    'image-width-nan': (lambda d, t: _ann_variant(d, t, _nan_width),
                        "finite 'width' and 'height'"),
    'annotations-nested-200000-deep': (
        lambda d, t: _ann_variant(d, t, lambda a: b'[' * 200000 + b']' * 200000),
        'nests its values too deeply'),
    'jpeg-cut-after-start-of-scan': (
        lambda d, t: _ann_variant(d, t, lambda a: _image_replaced(a, _cut_jpeg(t / 'c.jpg'))),
        'is incomplete or damaged'),
    'image-bomb': (
        lambda d, t: _ann_variant(d, t, lambda a: _image_replaced(a, _image_bomb(t / 'b.png'))),
        '30000x30000 = 900000000 pixels'),
    'storage-shorter-than-its-tensor-load_from': (
        lambda d, t: ['--cfg-options', f'load_from={_short_storage(t)}'],
        'declares 400 bytes but its record holds 40'),
    # id: (args after the config given (tiny_data, tmp_path), phrase of the message)
    'truncated-load_from': (lambda d, t: ['--cfg-options', f'load_from={_cut(t / "c.pth")}'],
                            'is incomplete or corrupt'),
    'truncated-legacy-load_from': (
        lambda d, t: ['--cfg-options', f'load_from={_cut(t / "c.pth", legacy=True)}'],
        'is incomplete or corrupt'),
    'empty-init_cfg-checkpoint': (
        lambda d, t: ['CONFIG', _pretrained_config(t, (t / 'e.pth').write_bytes(b'') and '' or
                                                   t / 'e.pth')],
        "model.backbone.init_cfg.checkpoint '{t}/e.pth' is empty"),
    'annotations-not-json': (lambda d, t: _ann_variant(d, t, lambda a: b'{"images": [1,'),
                             'is not valid JSON'),
    'annotations-not-utf8': (lambda d, t: _ann_variant(d, t, lambda a: b'\xff\xfe\x00{'),
                             'is not UTF-8 text'),
    'annotations-top-level-list': (lambda d, t: _ann_variant(d, t, lambda a: [a]),
                                   'holds a JSON list'),
    'image-without-file_name': (
        lambda d, t: _ann_variant(d, t, lambda a: a['images'][0].pop('file_name') and a),
        "image record(s) lack 'id', 'file_name'"),
    'no-categories': (lambda d, t: _ann_variant(d, t, lambda a: a.pop('categories') and a),
                      "has no list 'categories'"),
    'annotation-without-bbox': (
        lambda d, t: _ann_variant(d, t, lambda a: a['annotations'][0].pop('bbox') and a),
        "annotation(s) cannot be read: has no 'bbox'"),
    'string-in-polygon': (lambda d, t: _ann_variant(d, t, _polygon_string),
                          'a polygon that is not a list of numbers'),
    'all-annotations-invalid': (lambda d, t: _ann_variant(d, t, _all_invalid),
                                'annotations can be trained on'),
    'type-typo': (lambda d, t: ['--cfg-options', 'model.backbone.type=VoVNett'],
                  "type 'VoVNett' is not registered in mmdet::model; did you mean 'VoVNet'"),
    'arch-typo': (lambda d, t: ['--cfg-options', 'model.backbone.arch=V-19-slim'],
                  "VoVNet: arch='V-19-slim' is unknown"),
    'num_classes-0': (lambda d, t: ['--cfg-options', 'model.roi_head.bbox_head.num_classes=0'],
                      'model.roi_head.bbox_head.num_classes=0 is invalid'),
    'cfg-option-without-value': (lambda d, t: ['--cfg-options', 'foo'],
                                 "--cfg-options 'foo' is invalid"),
    'cfg-option-without-key': (lambda d, t: ['--cfg-options', '=3'],
                               "--cfg-options '=3' is invalid"),
    'cfg-option-unbalanced': (lambda d, t: ['--cfg-options', 'train_cfg.x=(0,1'],
                              'brackets or quotes of its VALUE do not balance'),
    'work-dir-not-creatable': (lambda d, t: ['WORK', f'{REPO}/README.md/work'],
                               'README.md/work\' cannot be used: Not a directory'),
    'custom-hook-not-a-dict': (lambda d, t: ['--cfg-options', "custom_hooks=[dict(type='X')]"],
                               'custom_hooks[0]='),
    'resume-another-models-checkpoint': (
        lambda d, t: ['--resume', _other_model_checkpoint(t)],
        '--resume checkpoint'),
}


def _other_model_checkpoint(tmp_path):
    from mmattn.models.backbones import EPSANet
    path = tmp_path / 'epsanet.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in EPSANet(depth=50).state_dict()
                               .items()}}, path)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize('launcher', ['train.py', 'dist_train.sh-2'])
@pytest.mark.parametrize('mistake', sorted(FIRST_CONTACT))
def test_first_contact_mistake_is_one_message_once(mistake, launcher, tiny_data, tmp_path):
    make_args, phrase = FIRST_CONTACT[mistake]
    extra = make_args(tiny_data, tmp_path)
    config, work = DEMO, tmp_path / 'work'
    if extra[:1] == ['CONFIG']:
        config, extra = extra[1], extra[2:]
    if extra[:1] == ['WORK']:
        work, extra = extra[1], extra[2:]
    options = _tiny_options(tiny_data, work)
    if '--cfg-options' in extra:  # one --cfg-options list
        i = extra.index('--cfg-options')
        options += extra[i + 1:]
        extra = extra[:i]
    cmd = ([sys.executable, 'tools/train.py', config] if launcher == 'train.py' else
           ['bash', 'tools/dist_train.sh', config, '2'])
    proc = _run(cmd + extra + options, timeout=300)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text[-3000:]
    assert 'Traceback' not in text, text[-3000:]
    errors = [line for line in text.splitlines() if 'error' in line.lower()]
    assert len(errors) == 1, text[-3000:]
    assert phrase.format(t=tmp_path) in text[text.index(errors[0]):], text[-3000:]
    assert not osp.exists(work), 'a work dir was left behind'
