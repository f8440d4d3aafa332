"""A downstream project, outside this repo, with mmattn installed
non-editable (``pip install .``), inherits one of our configs exactly as the
README says and trains one iteration with mmattn's training entry point.
The ``installed`` fixture (conftest.py) builds that install."""
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

from mmattn.datasets.synthetic import make_synthetic_coco

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

DOWNSTREAM_CONFIG = '''
_base_ = 'mmattn::epsanet/mask_rcnn_epsa50_coco.py'

data_root = '{data_root}/'
classes = ('rectangle', 'triangle', 'circle', 'star')
model = dict(
    backbone=dict(init_cfg=None, frozen_stages=-1, norm_eval=False),
    roi_head=dict(bbox_head=dict(num_classes=len(classes)),
                  mask_head=dict(num_classes=len(classes))))
train_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=dict(classes=classes),
        ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='Resize', scale=(128, 128), keep_ratio=True),
            dict(type='PackDetInputs'),
        ]))
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=1)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1))
'''


@pytest.mark.slow
def test_installed_package_ships_configs(installed):
    assert (installed / 'mmattn' / '.mim' / 'configs'
            / 'epsanet' / 'mask_rcnn_epsa50_coco.py').is_file()
    assert (installed / 'mmattn' / '.mim' / 'model-index.yml').is_file()
    assert not (installed / 'mmattn' / '.mim' / 'configs').is_symlink()


@pytest.mark.slow
def test_downstream_config_inherits_overrides_and_trains(installed, tmp_path):
    project = tmp_path / 'my_project'
    (project / 'configs').mkdir(parents=True)
    data = tmp_path / 'data'
    make_synthetic_coco(str(data), num_train=4, num_val=2, image_size=64, min_side=12,
                        max_side=32, empty_fraction=0.0, seed=1)
    config = project / 'configs' / 'my_mask_rcnn.py'
    config.write_text(DOWNSTREAM_CONFIG.format(data_root=data))
    env = dict(os.environ, PYTHONPATH=str(installed), OMP_NUM_THREADS='2')
    where = subprocess.run([sys.executable, '-c', 'import mmattn; print(mmattn.__file__)'],
                           cwd=project, env=env, capture_output=True, text=True)
    assert where.stdout.strip().startswith(str(installed)), where.stdout + where.stderr

    # what a user's own script does: import mmattn, then Config.fromfile
    check = textwrap.dedent('''
        import mmattn
        from mmengine.config import Config
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
        register_all_modules()
        cfg = Config.fromfile('configs/my_mask_rcnn.py')
        assert cfg.model.backbone.type == 'EPSANet', cfg.model.backbone
        assert cfg.model.roi_head.bbox_head.num_classes == 4
        assert cfg.model.roi_head.mask_head.num_classes == 4
        assert cfg.model.neck.type == 'FPN'
        MODELS.build(cfg.model)
        print('built')
    ''')
    proc = subprocess.run([sys.executable, '-c', check], cwd=project, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and 'built' in proc.stdout, proc.stderr[-3000:]

    entry = installed / 'bin' / 'mmattn-train'
    assert entry.is_file()
    proc = subprocess.run([sys.executable, str(entry), 'configs/my_mask_rcnn.py',
                           '--work-dir', 'work_dirs/one_iter'], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (project / 'work_dirs' / 'one_iter' / 'iter_1.pth').is_file()
    assert 'Saving checkpoint at 1 iterations' in proc.stdout + proc.stderr
