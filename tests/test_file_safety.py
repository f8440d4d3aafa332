"""Files users hand us are untrusted (issue #22): no code from a checkpoint
ever runs on any path that reads one, the synthetic-data makers never delete
what they did not make, and weights that do not fit are refused, not loaded
in part in silence."""
import os
import os.path as osp
import signal
import stat
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import torch

from _helpers import synthetic_data_options
from _payloads import PAYLOADS, assert_payload_works, reduce_payload

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py')
ENV = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def _one_error_line(text: str, *phrases: str) -> str:
    """The one error message in ``text`` (a first line with ``error:``, maybe
    followed by its list of problems), holding every phrase; no traceback."""
    lines = [line for line in text.splitlines() if 'error:' in line]
    assert len(lines) == 1, text[-3000:]
    assert 'Traceback' not in text, text[-3000:]
    message = text[text.index(lines[0]):]
    for phrase in phrases:
        assert phrase in message, message
    return message


def _refusal_phrases(kind: str):
    # a TorchScript archive is refused for what it is; a pickle payload's
    # object is skipped and the file is then judged on its weights
    return ('TorchScript archive', 'refused') if kind == 'torchscript' else ()


@pytest.fixture(params=sorted(PAYLOADS))
def payload(request, tmp_path):
    """(kind, payload file, the file its code would create)."""
    kind = request.param
    target = str(tmp_path / 'pwned')
    path = PAYLOADS[kind](str(tmp_path / f'{kind}.pth'), target)
    assert_payload_works(kind, path, target)
    return kind, path, target


# ------------------------------------------------------- 1. nothing runs
def test_data_only_loader_and_preflight_check_refuse_or_defuse(payload):
    from mmattn.utils.checkpoint import SkippedObject, load_checkpoint_file, verify_checkpoint
    from mmattn.utils.errors import CheckpointError
    kind, path, target = payload
    if kind == 'torchscript':
        for read in (load_checkpoint_file, verify_checkpoint):
            with pytest.raises(CheckpointError, match='is a TorchScript archive .* refused'):
                read(path)
    else:
        verify_checkpoint(path)
        assert isinstance(load_checkpoint_file(path)['meta']['payload'], SkippedObject)
    assert not osp.exists(target)


@pytest.mark.parametrize('backbone', ['EPSANet', 'VoVNet'])
def test_pretrained_init_runs_nothing(payload, backbone, tmp_path):
    from mmattn.models.backbones import EPSANet, VoVNet
    from mmattn.utils.errors import CheckpointError
    kind, path, target = payload
    build = (lambda **kw: EPSANet(depth=50, **kw)) if backbone == 'EPSANet' else \
        (lambda **kw: VoVNet('V-19-slim-dw-eSE', **kw))
    if kind == 'reduce':  # a real backbone checkpoint that carries the payload
        reduce_payload(path, target, build().state_dict())
    model = build(init_cfg=dict(type='Pretrained', checkpoint=path))
    if kind == 'torchscript':
        with pytest.raises(CheckpointError, match='TorchScript archive'):
            model.init_weights()
    else:
        model.init_weights()
    assert not osp.exists(target)


def _converter_mains():
    from mmattn.cli import convert_checkpoints as c
    return {'vovnet_detectron2_to_mmattn': c.vovnet_detectron2_main,
            'timm_vovnet_to_mmattn': c.timm_vovnet_main,
            'centermask2_to_mmattn': c.centermask2_main,
            'mmpretrain_to_mmattn': c.mmpretrain_main}


@pytest.mark.parametrize('name', sorted(_converter_mains()))
def test_converters_run_nothing(payload, name, tmp_path, capsys):
    kind, path, target = payload
    out = tmp_path / 'out.pth'
    status = _converter_mains()[name]([path, str(out)])
    assert status == 2 and not out.exists()
    _one_error_line(capsys.readouterr().err, name, *_refusal_phrases(kind))
    assert not osp.exists(target)


@pytest.fixture(scope='module')
def image_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('img') / 'shapes.png'
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    return str(path)


@pytest.mark.parametrize('command', ['vis_attention', 'export_backbone_onnx', 'test',
                                     'train-init_cfg', 'train-load_from'])
def test_commands_run_nothing(payload, command, image_file, tmp_path, capsys):
    kind, path, target = payload
    work = tmp_path / 'work'
    if command == 'vis_attention':
        from mmattn.cli.vis_attention import main
        status = main([image_file, DEMO, path, '--out-dir', str(work)])
    elif command == 'export_backbone_onnx':
        from mmattn.cli.export_backbone_onnx import main
        status = main([DEMO, path, str(tmp_path / 'b.onnx'), '--shape', '64', '64'])
        assert not (tmp_path / 'b.onnx').exists()
    elif command == 'test':
        from mmattn.cli.test import main
        status = main([DEMO, path, '--work-dir', str(work), '--preflight'])
    else:
        from mmattn.cli.train import main
        if command == 'train-init_cfg':
            status = main([osp.join(REPO, 'configs/epsanet/mask_rcnn_epsa50_coco.py'),
                           '--work-dir', str(work), '--preflight', '--cfg-options',
                           f'model.backbone.init_cfg.checkpoint={path}'])
        else:
            status = main([DEMO, '--work-dir', str(work), '--preflight', '--cfg-options',
                           f'load_from={path}'])
    assert status == 2
    _one_error_line(capsys.readouterr().err, *_refusal_phrases(kind))
    assert not osp.exists(target) and not work.exists()


def test_zip_named_like_a_torchscript_archive_member_is_still_a_checkpoint(tmp_path):
    """The TorchScript check looks at archive members, not at file names: a
    checkpoint saved as code.pth or constants.pkl.pth loads."""
    from mmattn.utils.checkpoint import load_checkpoint_file
    for name in ('code.pth', 'constants.pkl.pth'):
        torch.save({'state_dict': {'w': torch.ones(3)}}, tmp_path / name)
        assert torch.equal(load_checkpoint_file(str(tmp_path / name))['state_dict']['w'],
                           torch.ones(3))


@pytest.mark.parametrize('content,message', [
    (b'', 'is empty'),
    (b'just some notes\n', 'is not a checkpoint'),
    ('truncated-zip', 'incomplete or corrupt'),
    ('truncated-legacy', 'incomplete or corrupt'),
])
def test_unreadable_files_are_one_clear_error(content, message, tmp_path):
    from mmattn.utils.checkpoint import load_checkpoint_file, verify_checkpoint
    from mmattn.utils.errors import CheckpointError
    path = tmp_path / 'x.pth'
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save({'state_dict': {'w': torch.randn(1000)}}, path,
                   _use_new_zipfile_serialization=content.endswith('zip'))
        path.write_bytes(path.read_bytes()[:700])
    for read in (verify_checkpoint, load_checkpoint_file):
        with pytest.raises(CheckpointError, match=message):
            read(str(path))


# ------------------------------------------ 2. nothing a user made is deleted
def _make(out, *extra, **kwargs):
    return subprocess.run([sys.executable, 'tools/misc/make_synthetic_coco.py', str(out),
                           '--num-train', '2', '--num-val', '1', '--image-size', '32', *extra],
                          cwd=REPO, env=ENV, capture_output=True, text=True, **kwargs)


@pytest.mark.slow
def test_makers_never_delete_what_they_did_not_make(tmp_path):
    user = tmp_path / 'u'
    user.mkdir()
    (user / 'important.txt').write_text('precious')
    for extra in ((), ('--overwrite',)):
        proc = _make(user, *extra)
        assert proc.returncode == 2
        _one_error_line(proc.stderr, str(user))
        assert (user / 'important.txt').read_text() == 'precious'
        assert sorted(os.listdir(user)) == ['important.txt']
    # the working folder itself, as '.'
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools/misc/make_synthetic_coco.py'),
                           '.', '--num-train', '1', '--num-val', '1'], cwd=user, env=ENV,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and (user / 'important.txt').exists()
    assert sorted(os.listdir(tmp_path)) == ['u']  # no staging folder left either


@pytest.mark.slow
def test_overwrite_replaces_only_the_makers_own_untouched_set(tmp_path):
    out = tmp_path / 'set'
    assert _make(out).returncode == 0
    first = sorted(os.listdir(out / 'train'))
    mode = stat.S_IMODE(os.stat(out).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o777 & ~umask  # not mkdtemp's 0700
    proc = _make(out)  # without --overwrite: refused, and says how
    assert proc.returncode == 2 and '--overwrite' in proc.stderr
    proc = _make(out, '--overwrite', '--num-train', '3')
    assert proc.returncode == 0, proc.stderr
    assert len(os.listdir(out / 'train')) == 3 != len(first)
    (out / 'train' / 'mine.txt').write_text('added by the user')
    proc = _make(out, '--overwrite')
    assert proc.returncode == 2
    _one_error_line(proc.stderr, 'mine.txt')
    assert (out / 'train' / 'mine.txt').exists() and len(os.listdir(out / 'train')) == 4
    assert sorted(os.listdir(tmp_path)) == ['set']


@pytest.mark.slow
def test_interrupted_maker_leaves_nothing_and_a_killed_ones_staging_goes_next_run(tmp_path):
    out = tmp_path / 'big'
    for sig in (signal.SIGTERM, signal.SIGKILL):
        child = subprocess.Popen(
            [sys.executable, 'tools/misc/make_synthetic_coco.py', str(out), '--num-train', '4000'],
            cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline:  # until images are being written
            staging = [p for p in tmp_path.iterdir() if p.name.startswith('.big')]
            if staging and list(staging[0].rglob('*.png')):
                break
            time.sleep(0.1)
        child.send_signal(sig)
        child.communicate(timeout=60)
        left = [p.name for p in tmp_path.iterdir()]
        if sig == signal.SIGTERM:
            assert left == [], left
        else:
            assert len(left) == 1 and left[0].startswith('.big'), left
    assert _make(out).returncode == 0  # removes the killed run's staging folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ['big']


@pytest.mark.slow
def test_maker_argument_mistakes_name_the_flag(tmp_path):
    for args, phrase in ((['--num-train', '0'], 'argument --num-train'),
                         (['--image-size', '20'], '--image-size 20 is too small; expected >= 32')):
        proc = _make(tmp_path / 'x', *args)
        assert proc.returncode == 2
        _one_error_line(proc.stderr, phrase)
    assert '>= 32' in subprocess.run(
        [sys.executable, 'tools/misc/make_synthetic_coco.py', '--help'], cwd=REPO, env=ENV,
        capture_output=True, text=True).stdout
    assert not (tmp_path / 'x').exists()


# ------------------------------------------- 3. weights that do not fit
def test_pretrained_checkpoint_of_another_backbone_is_refused(tmp_path):
    from mmattn.models.backbones import EPSANet, VoVNet
    from mmattn.utils.errors import CheckpointError
    path = tmp_path / 'vovnet.pth'
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in VoVNet('V-19-slim-dw-eSE').state_dict().items()}},
               path)
    model = EPSANet(depth=50, init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                            prefix='backbone.'))
    with pytest.raises(CheckpointError, match="EPSANet: init_cfg.checkpoint .* does not fit "
                                              'this backbone: 0 of the model'):
        model.init_weights()
    # a spec of another width: every tensor has another shape
    torch.save(VoVNet('V-19-eSE').state_dict(), path)
    model = VoVNet('V-19-slim-eSE', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(CheckpointError, match='mis-shaped'):
        model.init_weights()


@pytest.fixture(scope='module')
def data_options(tmp_path_factory):
    """--cfg-options pointing the demo config at a tiny synthetic set."""
    return synthetic_data_options(str(tmp_path_factory.mktemp('data') / 'set'))


@pytest.fixture(scope='module')
def demo_model():
    from mmdet.registry import MODELS
    from mmengine.config import Config
    return MODELS.build(Config.fromfile(DEMO).model)


@pytest.mark.slow
def test_test_and_train_refuse_weights_that_do_not_fit(demo_model, data_options, tmp_path,
                                                       capsys):
    from mmattn.cli.test import main as test_main
    from mmattn.cli.train import main as train_main
    from mmattn.models.backbones import VoVNet
    other = tmp_path / 'backbone_only.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in
                               VoVNet('V-19-slim-dw-eSE', out_indices=(0, 1, 2, 3))
                               .state_dict().items()}}, other)
    heads = tmp_path / 'five_classes.pth'
    state = dict(demo_model.state_dict())
    state['roi_head.bbox_head.fc_cls.weight'] = torch.zeros(6, state[
        'roi_head.bbox_head.fc_cls.weight'].shape[1])
    torch.save({'state_dict': state}, heads)
    width = state['roi_head.bbox_head.fc_cls.weight'].shape[1]
    work = tmp_path / 'w'
    common = ['--work-dir', str(work), '--preflight']
    options = ['--cfg-options', *data_options]
    assert test_main([DEMO, str(other), *common, *options]) == 2
    message = _one_error_line(capsys.readouterr().err, 'does not fit the model of this config',
                              'missing (e.g. neck.', '--allow-partial')
    assert 'problem(s)' not in message  # the data is fine: this is the one problem
    assert test_main([DEMO, str(heads), *common, *options]) == 2
    _one_error_line(capsys.readouterr().err, '1 mis-shaped (e.g. roi_head.bbox_head.fc_cls.weight '
                    f'(file (6, {width}), model (5, {width}))')
    assert train_main([DEMO, *common, *options, f'load_from={heads}']) == 2
    _one_error_line(capsys.readouterr().err, 'load_from', 'mis-shaped')
    assert train_main([DEMO, *common, '--resume', str(other), *options]) == 2
    message = _one_error_line(capsys.readouterr().err, '--resume checkpoint')
    assert '--allow-partial' not in message  # never for resume
    # fine-tuning from another model's weights: allowed when asked for
    assert train_main([DEMO, *common, '--allow-partial', *options, f'load_from={heads}']) == 0
    assert test_main([DEMO, str(heads), *common, '--allow-partial', *options]) == 0
    assert not work.exists()


def test_runner_refuses_weights_that_do_not_fit_also_without_preflight(demo_model, tmp_path):
    """The runner itself checks (a launcher that skips the pre-flight)."""
    from mmengine.config import Config

    from mmattn.engine import SafeCheckpointRunner
    from mmattn.utils.errors import CheckpointError
    state = dict(demo_model.state_dict())
    del state['neck.fpn_convs.0.conv.weight']
    path = tmp_path / 'partial.pth'
    torch.save({'state_dict': state}, path)
    cfg = Config.fromfile(DEMO)
    cfg.work_dir = str(tmp_path / 'w')
    cfg.model.backbone.init_cfg = None
    runner = SafeCheckpointRunner(model=cfg.model, work_dir=cfg.work_dir,
                                  default_scope='mmdet')
    with pytest.raises(CheckpointError, match=r'1 missing \(e.g. neck.fpn_convs.0.conv.weight\)'):
        runner.load_checkpoint(str(path))
    runner.cfg.allow_partial_checkpoint = True
    runner.load_checkpoint(str(path))


@pytest.mark.slow
def test_centermask2_converter_drops_bn_counters_and_says_so(tmp_path):
    """A centermask2 checkpoint whose VoVNet trained with BN carries
    num_batches_tracked counters; the FrozenBN model keeps none."""
    from _official_layouts import official_centermask2_shapes
    state = {k: torch.randn(shape) for k, shape in
             official_centermask2_shapes('V-19-eSE', lite=True).items()}
    counters = [k.replace('.running_var', '.num_batches_tracked') for k in state
                if k.startswith('backbone.bottom_up.') and k.endswith('.running_var')]
    state.update({k: torch.tensor(1000) for k in counters})
    src, dst = tmp_path / 'bn.pth', tmp_path / 'out.pth'
    torch.save({'model': state}, src)
    from mmattn.cli.convert_checkpoints import centermask2_main
    assert centermask2_main([str(src), str(dst)]) == 0
    saved = torch.load(dst, weights_only=True)['state_dict']
    assert not any(k.endswith('num_batches_tracked') for k in saved)
    # but a real weight that does not fit is still refused
    state['backbone.bottom_up.stem.stem_1/conv.weight'] = torch.zeros(1, 1, 1, 1)
    torch.save({'model': state}, src)
    os.remove(dst)
    assert centermask2_main([str(src), str(dst)]) == 2 and not dst.exists()


# -------------------------------------------------------------- 5. the rest
def test_published_files_reach_the_disk_before_their_name(tmp_path, monkeypatch):
    """``publish`` (checkpoints, converted weights, metrics, ONNX files):
    the file's data is synced before the rename that publishes it, and the
    folder after, so a power loss cannot publish an incomplete file."""
    from mmattn.utils import staged_writes
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, 'fsync', lambda fd: events.append(
        ('fsync', os.readlink(f'/proc/self/fd/{fd}'))) or real_fsync(fd))
    monkeypatch.setattr(os, 'replace', lambda a, b: events.append(('replace', str(b)))
                        or real_replace(a, b))
    with staged_writes.staged_file(str(tmp_path / 'x.pth')) as partial:
        with open(partial, 'wb') as f:
            f.write(b'data')
    assert events == [('fsync', str(tmp_path / 'x.pth.part')),
                      ('replace', str(tmp_path / 'x.pth')), ('fsync', str(tmp_path))]


def test_runner_checkpoints_are_published_durably(tmp_path, monkeypatch):
    from mmengine.runner import Runner

    from mmattn.engine import SafeCheckpointRunner
    from mmattn.engine import runner as runner_module
    published = []
    real = runner_module.publish
    monkeypatch.setattr(runner_module, 'publish',
                        lambda a, b: published.append((a, b)) or real(a, b))
    # mmengine's own save writes where it is told: here, a stand-in for it
    monkeypatch.setattr(Runner, 'save_checkpoint', lambda self, out_dir, filename, *a, **k:
                        torch.save({'state_dict': {}}, osp.join(out_dir, filename)))
    runner = object.__new__(SafeCheckpointRunner)
    runner.save_checkpoint(str(tmp_path), 'epoch_1.pth')
    assert published == [(str(tmp_path / 'epoch_1.pth.part'), str(tmp_path / 'epoch_1.pth'))]
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in ('.pth', '.part')) == \
        ['epoch_1.pth']


@pytest.mark.slow
def test_tools_print_no_pkg_resources_warning(tmp_path):
    """mmengine's pkg_resources import (resolving mmdet:: configs) warned
    three lines on every run of every tool."""
    for status, cmd in (
            (0, ['tools/analysis_tools/get_flops.py',
                 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', '--backbone-only',
                 '--shape', '64', '64']),
            (2, ['tools/model_converters/mmpretrain_to_mmattn.py', str(tmp_path / 'no.pth'),
                 str(tmp_path / 'out.pth')]),
            (0, ['tools/misc/make_synthetic_coco.py', str(tmp_path / 'd'), '--num-train', '1',
                 '--num-val', '1', '--image-size', '32'])):
        proc = subprocess.run([sys.executable, *cmd], cwd=REPO, env=ENV, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == status, proc.stderr[-2000:]
        assert 'pkg_resources' not in proc.stdout + proc.stderr, cmd
