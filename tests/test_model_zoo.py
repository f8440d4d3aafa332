"""OpenMMLab model-zoo conventions: every config family has a ``metafile.yml``
listed in ``mmattn/.mim/model-index.yml``, and openmim finds every model and
trains and tests one, both with the README's own install (editable, what
``tools/setup_env.sh`` did to this environment) and with a non-editable one."""
import ast
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import yaml

from mmattn.datasets.synthetic import make_synthetic_coco

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
FAMILIES = ('epsanet', 'vovnet', 'centermask', 'attention', 'demo')


def _metafile_models():
    models = {}
    for family in FAMILIES:
        with open(osp.join(REPO, 'configs', family, 'metafile.yml'), encoding='utf-8') as f:
            meta = yaml.safe_load(f)
        collections = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            assert model['In Collection'] in collections, model['Name']
            models[model['Name']] = model
    return models


def test_model_index_imports_every_family():
    with open(osp.join(REPO, 'mmattn', '.mim', 'model-index.yml'), encoding='utf-8') as f:
        index = yaml.safe_load(f)
    assert sorted(index['Import']) == sorted(f'configs/{f}/metafile.yml' for f in FAMILIES)


def test_every_user_config_is_in_a_metafile_and_every_metafile_config_exists():
    models = _metafile_models()
    listed = {m['Config'] for m in models.values()}
    for config in listed:
        assert osp.isfile(osp.join(REPO, config)), config
    # the configs users train (not _base_ fragments) and the synthetic demos
    shipped = {osp.relpath(p, REPO) for family in FAMILIES
               for p in glob.glob(osp.join(REPO, 'configs', family, '**', '*.py'),
                                  recursive=True)}
    assert shipped - listed == set()
    for name, model in models.items():
        assert name == osp.splitext(osp.basename(model['Config']))[0]
        assert model['Weights'] == '', f'{name}: no weights were released; keep the field empty'
        for result in model.get('Results', []):
            assert result['Metrics'] and all(isinstance(v, (int, float))
                                             for v in result['Metrics'].values()), name


def _mim(args, installed, cwd, timeout=600):
    """openmim, run outside the clone, with the environment's own mmattn
    (``installed`` None: the README's install) or the non-editable copy."""
    env = dict(os.environ, OMP_NUM_THREADS='2', PYTHONWARNINGS='ignore')
    env.pop('PYTHONPATH', None)
    if installed is not None:
        env['PYTHONPATH'] = str(installed)
    return subprocess.run([sys.executable, '-m', 'mim', *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(params=['readme-install', 'non-editable'])
def install(request):
    """The mmattn openmim sees: None for the environment's own (the
    README's editable install), else the path of the non-editable copy."""
    if request.param == 'readme-install':
        return None
    return request.getfixturevalue('installed')


def _package_root(installed) -> str:
    return osp.join(str(installed), 'mmattn') if installed is not None else \
        osp.join(REPO, 'mmattn')


@pytest.mark.slow
def test_mim_search_lists_every_metafile_model(install, tmp_path):
    pytest.importorskip('mim', reason='openmim (tests extra) is not installed')
    installed = install
    proc = _mim(['search', 'mmattn', '--valid-config'], installed, tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    listing = proc.stdout.split('valid config ids:', 1)[-1].strip()
    assert listing.startswith('[') and listing.endswith(']'), proc.stdout[-2000:]
    found = set(ast.literal_eval(listing))
    assert found == set(_metafile_models()), found ^ set(_metafile_models())

    proc = _mim(['search', 'mmattn', '--config', 'mask_rcnn_epsa50_coco',
                 '--field', 'config', 'box_ap', '--display-width', '200'], installed, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'configs/epsanet/mask_rcnn_epsa50_coco.py' in proc.stdout


MIM_CONFIG = '''
_base_ = 'mmattn::demo/mask_rcnn_vovnet19_slim_dw_synthetic.py'
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=2)
test_dataloader = dict(batch_size=2)
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=1, val_interval=10)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1))
model = dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))  # a 1-iteration model scores low
'''


@pytest.mark.slow
def test_mim_train_and_test_run_our_tools(install, tmp_path):
    pytest.importorskip('mim', reason='openmim (tests extra) is not installed')
    installed = install
    make_synthetic_coco(str(tmp_path / 'data' / 'synthetic_coco'), num_train=4, num_val=2,
                        image_size=64, min_side=12, max_side=32, empty_fraction=0.0, seed=1)
    (tmp_path / 'one_iter.py').write_text(MIM_CONFIG)

    proc = _mim(['train', 'mmattn', 'one_iter.py', '--work-dir', 'work_dirs/mim'],
                installed, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    # mim ran the installed package's own tools/train.py
    script = osp.join(_package_root(installed), '.mim', 'tools', 'train.py')
    assert f'Training command is {sys.executable} {script} one_iter.py' in out, out[-4000:]
    checkpoint = tmp_path / 'work_dirs' / 'mim' / 'iter_1.pth'
    assert checkpoint.is_file()

    proc = _mim(['test', 'mmattn', 'one_iter.py', '--checkpoint', str(checkpoint),
                 '--work-dir', 'work_dirs/mim_test'], installed, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    script = osp.join(_package_root(installed), '.mim', 'tools', 'test.py')
    assert f'Testing command is {sys.executable} {script} one_iter.py {checkpoint}' in out, \
        out[-4000:]
    # both val images, in one batch, through the config's CocoMetric
    assert 'Epoch(test) [1/1]' in out and 'Testing finished successfully' in out, out[-4000:]
    assert 'coco/bbox_mAP' in out and 'coco/segm_mAP' in out, out[-4000:]
