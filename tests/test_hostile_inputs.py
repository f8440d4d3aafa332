"""Hostile files and careless inputs (issue #29): each is refused with one
message, before anything is allocated, built or written, and no result is
ever silently wrong. The dataset and checkpoint cases that reach training
are also in ``test_tools.py``'s first-contact table (train.py and
dist_train.sh with 2 processes)."""
import errno
import os
import os.path as osp
import pickle
import struct
import time
import zipfile

import numpy as np
import pytest
import torch

from _helpers import synthetic_data_options

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py')


def _one_error(text: str, *phrases: str) -> str:
    lines = [line for line in text.splitlines() if 'error:' in line]
    assert len(lines) == 1 and 'Traceback' not in text, text[-3000:]
    message = text[text.index(lines[0]):]
    for phrase in phrases:
        assert phrase in message, message
    return message


# ------------------------------------------------------------ checkpoints
def _rewrite_zip(src, dst, change):
    """Copy the torch zip ``src`` to ``dst`` with each member's bytes passed
    through ``change(name, data)``."""
    with zipfile.ZipFile(src) as archive, zipfile.ZipFile(dst, 'w') as out:
        for info in archive.infolist():
            out.writestr(info.filename, change(info.filename, archive.read(info)))
    return str(dst)


def _repeat_last_member(path, times):
    """Append ``times`` copies of the last central-directory entry (one
    member listed again and again: what a zip bomb does)."""
    raw = open(path, 'rb').read()
    end = raw.rindex(b'PK\x05\x06')
    size, offset = struct.unpack('<II', raw[end + 12:end + 20])
    directory = raw[offset:offset + size]
    entry = directory[directory.rindex(b'PK\x01\x02'):]
    count = struct.unpack('<H', raw[end + 10:end + 12])[0] + times
    directory += entry * times
    record = raw[end:end + 8] + struct.pack('<HHII', count, count, len(directory), offset) + \
        raw[end + 20:]
    open(path, 'wb').write(raw[:offset] + directory + record)
    return str(path)


def test_zip_bomb_is_refused_at_once_without_inflating(tmp_path):
    """One deflated 20 MB member listed 5000 times: refused in well under a
    second (zipfile.testzip would inflate 100 GB); a single such member is
    refused by the expansion cap; torch's own file passes."""
    from mmattn.utils.checkpoint import is_complete_checkpoint, verify_checkpoint
    from mmattn.utils.errors import CheckpointError
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(4)}}, good)
    assert is_complete_checkpoint(str(good))
    bomb = tmp_path / 'bomb.pth'
    with zipfile.ZipFile(good) as archive, zipfile.ZipFile(bomb, 'w') as out:
        for info in archive.infolist():
            out.writestr(info.filename, archive.read(info))
        out.writestr('good/extra', b'\0' * (20 * 2**20), compress_type=zipfile.ZIP_DEFLATED)
    assert osp.getsize(bomb) < 2**20
    with pytest.raises(CheckpointError, match=r'expand to \d+ bytes, more than 4x'):
        verify_checkpoint(str(bomb))
    _repeat_last_member(bomb, 5000)
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match="repeats the member 'good/extra'"):
        verify_checkpoint(str(bomb))
    assert not is_complete_checkpoint(str(bomb))
    assert time.perf_counter() - started < 5


def test_overlapping_members_are_refused(tmp_path):
    from mmattn.utils.checkpoint import verify_checkpoint
    from mmattn.utils.errors import CheckpointError
    path = tmp_path / 'x.pth'
    torch.save({'w': torch.ones(4)}, path)
    raw = bytearray(open(path, 'rb').read())
    # point the second central-directory entry at the first member's offset
    second = raw.index(b'PK\x01\x02', raw.index(b'PK\x01\x02') + 4)
    raw[second + 42:second + 46] = struct.pack('<I', 0)
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match='overlap'):
        verify_checkpoint(str(path))


def test_storage_shorter_than_its_tensor_is_refused_before_loading(tmp_path):
    from mmattn.utils.checkpoint import load_checkpoint_file, verify_checkpoint
    from mmattn.utils.errors import CheckpointError
    full = tmp_path / 'full.pth'
    torch.save({'state_dict': {'w': torch.ones(100)}}, full)
    short = _rewrite_zip(full, tmp_path / 'short.pth',
                         lambda name, data: data[:40] if name.endswith('data/0') else data)
    for read in (verify_checkpoint, load_checkpoint_file):  # the pre-flight reads on 'meta'
        with pytest.raises(CheckpointError, match='declares 400 bytes but its record holds 40'):
            read(short)


def test_pickle_declaring_a_huge_record_is_refused_without_allocating(tmp_path):
    """A 2**40-byte BINBYTES8: pickle would allocate it before reading."""
    from mmattn.utils.checkpoint import load_checkpoint_file, verify_checkpoint
    from mmattn.utils.errors import CheckpointError
    path = tmp_path / 'huge.pkl'
    path.write_bytes(b'\x80\x04\x8e' + struct.pack('<Q', 2**40) + b'abc')
    for read in (verify_checkpoint, load_checkpoint_file):
        with pytest.raises(CheckpointError, match='expected 1099511627776 bytes'):
            read(str(path))


def test_numpy_object_array_in_a_detectron2_pickle_is_one_message(tmp_path):
    from mmattn.cli.convert_checkpoints import vovnet_detectron2_main
    from mmattn.utils.checkpoint import load_checkpoint_file, state_dict_of
    from mmattn.utils.errors import CheckpointError
    path = tmp_path / 'model.pkl'
    with open(path, 'wb') as f:
        pickle.dump({'model': {'w': np.array([1, 'a'], dtype=object)}}, f)
    with pytest.raises(CheckpointError, match="weight 'w' is a numpy array of object values"):
        state_dict_of(load_checkpoint_file(str(path)))
    assert vovnet_detectron2_main([str(path), str(tmp_path / 'out.pth')]) == 2
    assert not (tmp_path / 'out.pth').exists()


# ------------------------------------------------- the fit rule, by purpose
@pytest.fixture(scope='module')
def attention_case(tmp_path_factory):
    """A WithAttention config on the demo model and a checkpoint of the stock
    demo model (no attention weights)."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    root = tmp_path_factory.mktemp('attention')
    config = root / 'with_cbam.py'
    config.write_text(f"_base_ = '{DEMO}'\n"
                      "model = dict(backbone=dict(_delete_=True, type='WithAttention',\n"
                      "    module={{_base_.model.backbone}},\n"
                      "    insert=[dict(at='stage4', block=dict(type='CBAM'))]))\n")
    stock = root / 'stock.pth'
    torch.save({'state_dict': MODELS.build(Config.fromfile(DEMO).model).state_dict()}, stock)
    return str(config), str(stock)


def test_check_fit_of_a_stock_checkpoint_by_purpose(attention_case):
    from mmdet.registry import MODELS
    from mmengine.config import Config

    from mmattn.utils.checkpoint import check_fit, read_checkpoint, state_dict_of
    from mmattn.utils.errors import CheckpointError
    config, stock = attention_case
    model = MODELS.build(Config.fromfile(config).model)
    weights = state_dict_of(read_checkpoint(stock))
    fit = check_fit(model, weights, purpose='fine-tune', shown='x')  # new blocks: fine
    assert fit.complete and not fit.missing
    for purpose in ('evaluate', 'export', 'resume'):
        with pytest.raises(CheckpointError, match='blocks added to the stock model'):
            check_fit(model, weights, purpose=purpose, shown='x')
    assert check_fit(model, weights, purpose='evaluate', shown='x', allow_partial=True).new == []
    with pytest.raises(CheckpointError, match='resumes only from a checkpoint of its own'):
        check_fit(model, weights, purpose='resume', shown='x', allow_partial=True)
    with pytest.raises(ValueError, match="purpose='test' is invalid"):
        check_fit(model, weights, purpose='test', shown='x')


@pytest.fixture(scope='module')
def data_options(tmp_path_factory):
    """--cfg-options pointing the demo config at a tiny synthetic set."""
    return synthetic_data_options(str(tmp_path_factory.mktemp('data') / 'set'))


def test_commands_refuse_a_stock_checkpoint_for_a_with_attention_config(
        attention_case, data_options, tmp_path, capsys):
    """test.py would print metrics of random attention blocks; --resume would
    end in a 588-line optimizer traceback. Fine-tuning takes it."""
    from mmattn.cli.test import main as test_main
    from mmattn.cli.train import main as train_main
    config, stock = attention_case
    common = ['--work-dir', str(tmp_path / 'w'), '--preflight', '--cfg-options', *data_options]
    assert test_main([config, stock, *common]) == 2
    _one_error(capsys.readouterr().err, 'blocks added to the stock model', '--allow-partial')
    assert train_main([config, '--resume', stock, *common]) == 2
    message = _one_error(capsys.readouterr().err, '--resume checkpoint', 'resumes only')
    assert '--allow-partial' not in message
    assert test_main([config, stock, '--allow-partial', *common]) == 0
    assert train_main([config, *common, f'load_from={stock}']) == 0


@pytest.mark.slow
def test_runner_refuses_a_stock_checkpoint_when_testing_without_preflight(
        attention_case, data_options, tmp_path):
    from mmengine.config import Config

    from mmattn.engine import build_runner
    from mmattn.utils.errors import CheckpointError
    config, stock = attention_case
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(dict(o.split('=', 1) for o in data_options))
    cfg.work_dir, cfg.load_from = str(tmp_path / 'w'), stock
    runner = build_runner(cfg)
    with pytest.raises(CheckpointError, match='blocks added to the stock model'):
        runner.test()


def test_with_attention_channels_that_disagree_are_refused_at_build():
    from mmdet.registry import MODELS
    from mmengine.config import Config
    backbone = Config.fromfile(DEMO).model.backbone
    with pytest.raises(ValueError, match=r"channels=64 does not match the width at 'stage4', "
                                         r'which is \d+'):
        MODELS.build(dict(type='WithAttention', module=backbone,
                          insert=[dict(at='stage4', block='cbam', channels=64)]))


def test_selective_kernel_on_one_image_says_what_to_use():
    from mmattn.models.layers.sk import SelectiveKernel
    from mmattn.utils.errors import UsageError
    block = SelectiveKernel(64).train()
    with pytest.raises(UsageError, match=r"norm_cfg=dict\(type='GN'"):
        block(torch.randn(1, 64, 8, 8))
    grouped = SelectiveKernel(64, norm_cfg=dict(type='GN', num_groups=8)).train()
    assert grouped(torch.randn(1, 64, 8, 8)).shape == (1, 64, 8, 8)
    assert block.eval()(torch.randn(1, 64, 8, 8)).shape == (1, 64, 8, 8)


# ------------------------------------------------------------------ images
def _bomb(path, side=30000):
    from PIL import Image
    Image.new('1', (side, side)).save(path, optimize=True)  # ~110 KB for 900 Mpx
    return str(path)


def test_image_bomb_is_refused_from_its_header(tmp_path, monkeypatch):
    from mmattn.utils.errors import UsageError
    from mmattn.utils.images import MAX_IMAGE_PIXELS_ENV, check_image_file, read_image
    path = _bomb(tmp_path / 'bomb.png')
    assert osp.getsize(path) < 2**20
    for read in (check_image_file, read_image):
        with pytest.raises(UsageError, match=f'30000x30000 = 900000000 pixels, more than the '
                                             f'limit .* {MAX_IMAGE_PIXELS_ENV}=900000000'):
            read(path)
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, '900000000')
    assert check_image_file(path, whole=False) == (30000, 30000)
    monkeypatch.setenv(MAX_IMAGE_PIXELS_ENV, 'lots')
    with pytest.raises(UsageError, match=f'{MAX_IMAGE_PIXELS_ENV}=.lots. is invalid'):
        check_image_file(path)


@pytest.mark.parametrize('ext', ['jpg', 'png'])
def test_image_cut_off_is_refused(ext, tmp_path):
    import cv2

    from mmattn.utils.errors import UsageError
    from mmattn.utils.images import check_image_file
    path = tmp_path / f'x.{ext}'
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    assert check_image_file(str(path)) == (64, 64)
    data = path.read_bytes()
    cut = data.index(b'\xff\xda') + 200 if ext == 'jpg' else len(data) // 2  # after the scan
    path.write_bytes(data[:cut])
    with pytest.raises(UsageError, match='is incomplete or damaged'):
        check_image_file(str(path))


def test_tools_that_open_images_apply_the_limit(tmp_path, capsys):
    from mmattn.cli.export_detector_onnx import main as export_main
    from mmattn.cli.vis_attention import main as vis_main
    bomb = _bomb(tmp_path / 'bomb.png')
    out = tmp_path / 'x.onnx'
    assert export_main([DEMO, 'none', str(out), '--image', bomb]) == 2
    _one_error(capsys.readouterr().err, '900000000 pixels')
    assert vis_main([bomb, DEMO, 'none.pth', '--out-dir', str(tmp_path / 'o')]) == 2
    _one_error(capsys.readouterr().err, '900000000 pixels')
    assert not out.exists() and not (tmp_path / 'o').exists()


# ------------------------------------------------------- named outputs
@pytest.fixture(scope='module')
def backbone_checkpoint(tmp_path_factory):
    from mmattn.models.backbones import VoVNet
    path = tmp_path_factory.mktemp('ckpt') / 'detector.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in
                               VoVNet('V-19-slim-dw-eSE').state_dict().items()}}, path)
    return path


def test_converters_never_overwrite_their_source_or_a_users_file(backbone_checkpoint, tmp_path,
                                                                 capsys):
    from mmattn.cli.convert_checkpoints import mmpretrain_main
    src = tmp_path / 'src.pth'
    src.write_bytes(backbone_checkpoint.read_bytes())
    before = src.read_bytes()
    assert mmpretrain_main([str(src), str(src)]) == 2
    _one_error(capsys.readouterr().err, f"DST '{src}' is the input")
    os.link(src, tmp_path / 'hardlink.pth')  # the same file under another name
    assert mmpretrain_main([str(src), str(tmp_path / 'hardlink.pth')]) == 2
    _one_error(capsys.readouterr().err, 'is the input')
    notes = tmp_path / 'notes.txt'
    notes.write_text('mine')
    assert mmpretrain_main([str(src), str(notes)]) == 2
    _one_error(capsys.readouterr().err, 'already exists and was not written by this command',
               '--overwrite')
    assert notes.read_text() == 'mine' and src.read_bytes() == before
    out = tmp_path / 'backbone.pth'
    assert mmpretrain_main([str(src), str(out)]) == 0
    assert mmpretrain_main([str(src), str(out)]) == 0  # its own output: replaced
    assert mmpretrain_main([str(src), str(notes), '--overwrite']) == 0
    assert torch.load(notes, weights_only=True)['meta']['written_by'] == 'mmpretrain_to_mmattn'


def test_exporters_refuse_a_folder_or_a_users_file_as_out_before_building(tmp_path, capsys):
    from mmattn.cli.export_backbone_onnx import main as backbone_main
    from mmattn.cli.export_detector_onnx import main as detector_main
    folder = tmp_path / 'x.onnx'
    folder.mkdir()
    mine = tmp_path / 'mine.onnx'
    mine.write_bytes(b'not from mmattn')
    for main in (detector_main, backbone_main):
        started = time.perf_counter()
        assert main([DEMO, 'none', str(folder)]) == 2
        _one_error(capsys.readouterr().err, 'is an existing folder')
        assert main([DEMO, 'none', str(mine)]) == 2
        _one_error(capsys.readouterr().err, 'was not written by this command')
        assert time.perf_counter() - started < 10  # refused before the model is built
    assert mine.read_bytes() == b'not from mmattn'


def test_static_onnx_input_size_is_checked_before_running():
    from mmattn.deployment.onnx_files import check_input, input_problem
    from mmattn.utils.errors import UsageError

    assert input_problem(['batch', 3, 'height', 'width'], (2, 3, 96, 128), 'f') is None
    assert input_problem([1, 3, 128, 128], (1, 3, 128, 128), 'f') is None
    with pytest.raises(UsageError, match=r'exported for an input of 1x3x800x1344 .* makes '
                                         r'1x3x96x128; export it with --dynamic'):
        check_input([1, 3, 800, 1344], (1, 3, 96, 128), "'m.onnx'")


@pytest.mark.slow
def test_vis_attention_never_overwrites_a_users_picture(tmp_path, capsys):
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from PIL import Image

    from mmattn.cli.vis_attention import main as vis_main
    image = tmp_path / 'img.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 80, 3), np.uint8)).save(image)
    checkpoint = tmp_path / 'demo.pth'
    cfg = Config.fromfile(DEMO)
    cfg.model.backbone.init_cfg = None
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, checkpoint)
    out = tmp_path / 'pictures'
    out.mkdir()
    (out / 'detections.jpg').write_bytes(b'my own picture')
    args = [str(image), DEMO, str(checkpoint), '--out-dir', str(out), '--device', 'cpu']
    assert vis_main(args) == 2
    _one_error(capsys.readouterr().err, 'detections.jpg', 'mmattn did not write', '--overwrite')
    assert sorted(os.listdir(out)) == ['detections.jpg']
    assert (out / 'detections.jpg').read_bytes() == b'my own picture'
    assert vis_main(args + ['--overwrite']) == 0
    written = sorted(os.listdir(out))
    assert len(written) > 2 and (out / 'detections.jpg').read_bytes() != b'my own picture'
    assert vis_main(args) == 0  # its own pictures: replaced without asking
    assert sorted(os.listdir(out)) == written


# ------------------------------------------------------------------ makers
def _make(out, *extra):
    from mmattn.cli.make_synthetic import coco_main
    return coco_main([str(out), '--num-train', '2', '--num-val', '1', '--image-size', '32',
                      *extra])


@pytest.mark.parametrize('intruder', ['empty-folder', 'symlink', 'changed-file'])
def test_overwrite_refuses_anything_the_maker_did_not_write(intruder, tmp_path, capsys):
    out = tmp_path / 'set'
    assert _make(out) == 0
    victim = tmp_path / 'precious.txt'
    victim.write_text('keep me')
    if intruder == 'empty-folder':
        (out / 'my_folder').mkdir()
    elif intruder == 'symlink':
        (out / 'train' / 'link.png').symlink_to(victim)
    else:
        image = next((out / 'train').iterdir())
        image.write_bytes(image.read_bytes() + b'edited')
    assert _make(out, '--overwrite') == 2
    _one_error(capsys.readouterr().err, 'mmattn did not write', 'nothing was replaced')
    assert victim.read_text() == 'keep me'
    assert (out / 'my_folder').is_dir() if intruder == 'empty-folder' else True


def test_maker_refuses_a_mount_point_and_an_unwritable_parent_before_generating(
        tmp_path, monkeypatch, capsys):
    import mmattn.utils.staged_writes as staged_writes
    mount = tmp_path / 'mnt'
    mount.mkdir()
    real = osp.ismount
    monkeypatch.setattr(staged_writes.osp, 'ismount', lambda p: p == str(mount) or real(p))
    assert _make(mount) == 2
    _one_error(capsys.readouterr().err, 'is a mount point')
    monkeypatch.undo()

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, 'Read-only file system', str(tmp_path / 'ro'))
    monkeypatch.setattr(staged_writes.tempfile, 'mkdtemp', read_only)
    assert _make(tmp_path / 'ro' / 'set') == 2
    _one_error(capsys.readouterr().err, 'cannot be written: Read-only file system')


# --------------------------------------------------------------- training
def test_a_failed_checkpoint_save_leaves_no_partial_file(tmp_path, monkeypatch):
    from mmengine.runner import Runner

    from mmattn.engine import SafeCheckpointRunner

    def full_disk(self, out_dir, filename, *args, **kwargs):
        with open(osp.join(out_dir, filename), 'wb') as f:
            f.write(b'\0' * 4096)
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(Runner, 'save_checkpoint', full_disk)
    runner = SafeCheckpointRunner.__new__(SafeCheckpointRunner)
    with pytest.raises(OSError, match='No space left'):
        runner.save_checkpoint(str(tmp_path), 'epoch_1.pth')
    assert os.listdir(tmp_path) == []


def test_a_second_run_into_a_busy_work_dir_is_one_message(data_options, tmp_path, capsys):
    from mmattn.cli.train import main as train_main
    from mmattn.engine.work_dir_lock import hold_work_dir
    work = tmp_path / 'work'
    with hold_work_dir(str(work)):
        assert train_main([DEMO, '--work-dir', str(work), '--preflight',
                           '--cfg-options', *data_options]) == 2
        _one_error(capsys.readouterr().err, f"work_dir '{work}' is in use by another training "
                                            f'run (pid {os.getpid()}')
    assert train_main([DEMO, '--work-dir', str(work), '--preflight',
                       '--cfg-options', *data_options]) == 0


def test_evaluator_annotation_file_left_behind_names_the_option(
        data_options, tmp_path, capsys, monkeypatch):
    from mmattn.cli.test import main as test_main
    options = [o for o in data_options if not o.startswith('test_evaluator')]
    monkeypatch.chdir(tmp_path)  # a folder without the config's data/ (a clone may hold it)
    assert test_main([DEMO, 'x.pth', '--preflight', '--cfg-options', *options]) == 2
    text = capsys.readouterr().err
    assert ("test_evaluator.ann_file 'data/synthetic_coco/annotations/instances_val.json' "
            'does not exist') in text, text
    assert '--cfg-options test_evaluator.ann_file=' in text
