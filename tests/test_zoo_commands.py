"""The model-zoo commands: ``run_zoo.py`` (dry run, a local run of a tiny
demo model, a rerun that skips it), ``gather_models.py`` (published weights
whose name carries their sha256, results.md equal to tools/test.py's output,
metafiles and README updated, ``mim download`` from the published URL) and
``publish_model.py`` (what it keeps; one-message refusals, nothing written)."""
import functools
import hashlib
import http.server
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import threading

import pytest
import torch
import yaml

from mmattn.cli.publish_model import main as publish_main
from mmattn.cli.run_zoo import main as run_zoo_main
from mmattn.datasets.synthetic import make_synthetic_coco
from mmattn.zoo.metafiles import default_model_index, read_models
from _payloads import torchscript_payload

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = 'configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py'
DEMO_NAME = 'mask_rcnn_vovnet19_slim_dw_synthetic'
ENV = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='2', PYTHONUNBUFFERED='1')


def _one_error(err: str, *parts: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


def test_dry_run_lists_every_metafile_model_once(tmp_path, capsys):
    models = read_models(default_model_index())
    assert run_zoo_main(['--launcher', 'torchrun', '--gpus', '4', '--dry-run',
                         '--work-dir-root', str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(models)
    for model, line in zip(models, lines):
        config = osp.relpath(model.config, REPO)
        work_dir = osp.join(str(tmp_path), model.name)
        assert line.startswith(f'bash tools/dist_train.sh {config} 4 --work-dir {work_dir} && '
                               f'bash tools/dist_test.sh {config} {work_dir}/'), line
        assert osp.isfile(model.config)
    assert not os.listdir(tmp_path)  # a dry run runs nothing

    assert run_zoo_main(['--launcher', 'slurm', '--partition', 'p', '--dry-run',
                         '--models', 'demo/*', '--work-dir-root', str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[5] for line in lines] == [
        f'zoo-{m.name}' for m in models if '/configs/demo/' in m.config]
    assert all(line.startswith('env GPUS=8 bash tools/slurm_train.sh p ') for line in lines)


@pytest.mark.parametrize('argv, message', [
    (['--launcher', 'slurm'], '--launcher slurm needs --partition P'),
    (['--launcher', 'local', '--models', 'nothing*'], "no model matches --models 'nothing*'"),
    (['--launcher', 'local', '--configs', 'configs/none.py'], "'configs/none.py' does not exist"),
])
def test_run_zoo_mistakes_are_one_message(argv, message, tmp_path, capsys):
    assert run_zoo_main([*argv, '--dry-run', '--work-dir-root', str(tmp_path)]) == 2
    _one_error(capsys.readouterr().err, 'run_zoo: error:', message)


def _checkpoint_with_training_state(path) -> dict:
    import numpy as np
    weights = {'backbone.conv.weight': torch.randn(4, 3, 3, 3), 'head.bias': torch.randn(4)}
    torch.save({'state_dict': weights,
                'meta': {'epoch': 3, 'seed': np.int64(7), 'cfg': 'model = dict()',
                         'dataset_meta': {'classes': ('a', 'b')}, 'hook_msgs': {'x': 1}},
                'optimizer': {'state': {0: {'momentum_buffer': torch.ones(4)}}},
                'param_schedulers': [{'last_epoch': 3}],
                'message_hub': {'log_scalars': {}}}, path)
    return weights


def test_publish_model_keeps_weights_and_meta_only(tmp_path, capsys):
    weights = _checkpoint_with_training_state(tmp_path / 'epoch_3.pth')
    assert publish_main([str(tmp_path / 'epoch_3.pth'), str(tmp_path / 'out' / 'model.pth')]) == 0
    published = [p for p in os.listdir(tmp_path / 'out')]
    assert len(published) == 1, published
    path = tmp_path / 'out' / published[0]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert published[0] == f'model-{digest[:8]}.pth'
    assert digest in capsys.readouterr().out
    content = torch.load(path, weights_only=True)  # no allowlist
    assert set(content) == {'state_dict', 'meta'}
    assert content['meta'] == {'epoch': 3, 'seed': 7, 'cfg': 'model = dict()',
                               'dataset_meta': {'classes': ('a', 'b')},
                               'written_by': 'publish_model'}
    for key, value in weights.items():
        assert torch.equal(content['state_dict'][key], value)


@pytest.mark.parametrize('kind, message', [
    ('torchscript', 'TorchScript'),
    ('text', 'not a checkpoint'),
    ('list', 'holds a list, not a checkpoint'),
    ('no weights', 'holds no weights'),
    ('missing', 'does not exist'),
])
def test_publish_model_refusals_are_one_message_and_write_nothing(kind, message, tmp_path,
                                                                  capsys):
    src = tmp_path / 'in.pth'
    if kind == 'torchscript':
        torchscript_payload(str(src), str(tmp_path / 'pwned'))
    elif kind == 'text':
        src.write_text('not a checkpoint\n')
    elif kind == 'list':
        torch.save([1, 2, 3], src)
    elif kind == 'no weights':
        torch.save({'meta': {'epoch': 1}}, src)
    out = tmp_path / 'out'
    out.mkdir()
    assert publish_main([str(src), str(out / 'model.pth')]) == 2
    _one_error(capsys.readouterr().err, 'publish_model: error:', message)
    assert not os.listdir(out) and not (tmp_path / 'pwned').exists()


@pytest.fixture(scope='module')
def tiny_zoo(tmp_path_factory):
    """One demo model trained and tested by ``run_zoo.py --launcher local``
    (1 epoch on 8 images), then run again."""
    root = tmp_path_factory.mktemp('zoo')
    data = root / 'data'
    make_synthetic_coco(str(data), num_train=8, num_val=4, image_size=64, max_objects=3,
                        min_side=12, max_side=32, seed=5)
    ann = f'{data}/annotations/instances_val.json'
    options = [f'{s}_dataloader.dataset.data_root={data}/' for s in ('train', 'val', 'test')] + [
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=2',
        'model.test_cfg.rcnn.score_thr=0.0']
    command = [sys.executable, 'tools/model_zoo/run_zoo.py', '--launcher', 'local',
               '--configs', DEMO, '--work-dir-root', str(root / 'runs'),
               '--cfg-options', *options]
    first = subprocess.run(command, cwd=REPO, env=ENV, capture_output=True, text=True,
                           timeout=900)
    work = root / 'runs' / DEMO_NAME
    stamp = os.stat(work / 'epoch_1.pth').st_mtime_ns if (work / 'epoch_1.pth').exists() else 0
    second = subprocess.run(command, cwd=REPO, env=ENV, capture_output=True, text=True,
                            timeout=300)
    return dict(root=root, work=work, options=options, first=first, second=second, stamp=stamp)


@pytest.mark.slow
def test_local_run_trains_tests_and_a_rerun_skips(tiny_zoo):
    first, second, work = tiny_zoo['first'], tiny_zoo['second'], tiny_zoo['work']
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert f'run_zoo: {DEMO_NAME}: finished' in first.stdout
    metrics = json.load(open(work / 'test_metrics.json'))
    assert {'coco/bbox_mAP', 'coco/segm_mAP'} <= set(metrics)
    record = json.load(open(work / 'zoo_run.json'))
    assert record['launcher'] == 'local' and record['train_seconds'] > 0
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert f'run_zoo: {DEMO_NAME}: finished in {work}, skipped' in second.stdout
    assert os.stat(work / 'epoch_1.pth').st_mtime_ns == tiny_zoo['stamp']


@pytest.mark.slow
def test_gather_publishes_what_test_py_measures_and_mim_downloads_it(tiny_zoo, installed,
                                                                     tmp_path):
    assert tiny_zoo['first'].returncode == 0, tiny_zoo['first'].stdout[-3000:]
    # a copy of the non-editable install whose demo metafile gather updates
    site = tmp_path / 'site'
    shutil.copytree(installed, site, symlinks=True)
    index = str(site / 'mmattn' / '.mim' / 'model-index.yml')
    out = tmp_path / 'published'
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    url = f'http://127.0.0.1:{server.server_address[1]}'
    proc = subprocess.run([sys.executable, 'tools/model_zoo/gather_models.py',
                           str(tiny_zoo['root'] / 'runs'), str(out), '--url-prefix', url,
                           '--update-metafiles', '--model-index', index],
                          cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    files = os.listdir(out / DEMO_NAME)
    (name,) = [f for f in files if f.endswith('.pth')]
    path = out / DEMO_NAME / name
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert name == f'{DEMO_NAME}-{digest[:8]}.pth'
    content = torch.load(path, weights_only=True)
    assert set(content) == {'state_dict', 'meta'}  # no optimizer, scheduler, message hub
    assert {'mask_rcnn_vovnet19_slim_dw_synthetic.py', 'test_metrics.json',
            'zoo_train.log', 'zoo_test.log'} <= set(files)

    # results.md's AP is what tools/test.py prints for the published file
    test = subprocess.run([sys.executable, 'tools/test.py', DEMO, str(path), '--work-dir',
                           str(tmp_path / 'test'), '--cfg-options', *tiny_zoo['options']],
                          cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    printed = {k: float(v) for k, v in re.findall(r'coco/(bbox|segm)_mAP: ([0-9.]+)',
                                                  test.stdout + test.stderr)}
    results = (out / 'results.md').read_text()
    zoo = json.load(open(out / 'model_zoo.json'))
    (entry,) = zoo['models']
    assert entry['sha256'] == digest and entry['url'] == f'{url}/{DEMO_NAME}/{name}'
    measured = json.load(open(tmp_path / 'test' / 'test_metrics.json'))
    for figure, key in (('box AP', 'bbox'), ('mask AP', 'segm')):
        ours = entry['metrics'][figure]['measured']
        assert ours == round(100 * measured[f'coco/{key}_mAP'], 2)
        assert abs(ours / 100 - printed[key]) <= 0.0005 + 1e-9, (figure, ours, printed)
        assert f'| {DEMO_NAME} | {figure} | {ours:g} | — | — | — |' in results, results

    # the metafile now names the weights and the measured results; mim fetches them
    meta = yaml.safe_load(open(site / 'mmattn' / '.mim' / 'configs' / 'demo' / 'metafile.yml'))
    (model,) = [m for m in meta['Models'] if m['Name'] == DEMO_NAME]
    assert model['Weights'] == entry['url']
    assert model['Results'][0]['Metrics'] == {'box AP': entry['metrics']['box AP']['measured']}
    readme = (site / 'mmattn' / '.mim' / 'configs' / 'demo' / 'README.md').read_text()
    assert 'written by gather_models.py' in readme and name in readme
    pytest.importorskip('mim', reason='openmim (tests extra) is not installed')
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = dict(ENV, PYTHONPATH=str(site), PYTHONWARNINGS='ignore')
        proc = subprocess.run([sys.executable, '-m', 'mim', 'download', 'mmattn', '--config',
                               DEMO_NAME, '--dest', str(tmp_path / 'download')],
                              cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / 'download' / name).read_bytes() == path.read_bytes()
