"""Loading checkpoints without running code and without process-wide settings,
the checkpoints the runner writes, and which files the commands accept."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmattn.engine import find_latest_valid_checkpoint
from mmattn.utils.checkpoint import SkippedObject, load_checkpoint_file

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _mmengine_style_checkpoint(path):
    """What a plain mmengine Runner writes: weights, numpy values in the meta
    and HistoryBuffer objects in the message hub."""
    buffer = HistoryBuffer()
    buffer.update(0.5)
    torch.save({'meta': {'eta': np.float64(3.0), 'ratio': np.float32(0.5)},
                'state_dict': {'backbone.w': torch.arange(4.0)},
                'message_hub': {'log_scalars': {'train/loss': buffer}}}, path)


def test_data_only_loading_keeps_data_and_names_what_it_skipped(tmp_path):
    import logging

    from mmengine.logging import MMLogger
    path = tmp_path / 'ckpt.pth'
    _mmengine_style_checkpoint(path)
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(path, weights_only=True)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        checkpoint = load_checkpoint_file(str(path))
    finally:
        logger.removeHandler(handler)
    assert torch.equal(checkpoint['state_dict']['backbone.w'], torch.arange(4.0))
    assert checkpoint['meta']['eta'] == 3.0 and checkpoint['meta']['ratio'] == np.float32(0.5)
    skipped = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(skipped, SkippedObject)
    assert skipped.qualname == 'mmengine.logging.history_buffer.HistoryBuffer'
    messages = [r.getMessage() for r in records]
    assert any('skipped' in m and 'HistoryBuffer' in m for m in messages), messages


def test_data_only_loading_runs_nothing_from_the_file(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (open, (str(tmp_path / 'pwned'), 'w'))
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'x': Exploit()}, path)
    checkpoint = load_checkpoint_file(str(path))
    assert isinstance(checkpoint['x'], SkippedObject)
    assert not (tmp_path / 'pwned').exists()


def test_legacy_format_and_plain_pickles_load(tmp_path):
    legacy = tmp_path / 'legacy.pth'
    torch.save({'state_dict': {'w': torch.ones(3)}}, legacy, _use_new_zipfile_serialization=False)
    assert torch.equal(load_checkpoint_file(str(legacy))['state_dict']['w'], torch.ones(3))
    import pickle
    pkl = tmp_path / 'detectron2.pkl'
    pkl.write_bytes(pickle.dumps({'model': {'w': np.ones(2, np.float32)}}))
    assert np.array_equal(load_checkpoint_file(str(pkl))['model']['w'], np.ones(2))


@pytest.mark.slow
def test_importing_mmattn_changes_no_torch_load_setting():
    # torch's own submodules allowlist their classes as they are imported;
    # nothing of numpy's, mmengine's or the builtins may be added.
    code = ('import torch\n'
            'import mmattn, mmattn.cli.train, mmattn.cli.test\n'
            'added = [g for g in torch.serialization.get_safe_globals()\n'
            '         if not getattr(g, "__module__", "").startswith("torch")]\n'
            'assert not added, added\n'
            'print("unchanged")')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode == 0 and 'unchanged' in proc.stdout, proc.stderr[-2000:]


def test_runner_checkpoint_hook_makes_plain_weights_only_checkpoints():
    from mmattn.engine import SafeCheckpointHook
    buffer = HistoryBuffer()
    for v in (1.0, 2.0, 3.0):
        buffer.update(v)
    checkpoint = {'meta': {'eta': np.float64(1.5), 'shape': np.arange(2)},
                  'message_hub': {'log_scalars': {'loss': buffer},
                                  'runtime_info': {'eta': np.float64(9.0)}}}
    SafeCheckpointHook().before_save_checkpoint(None, checkpoint)
    import io
    stream = io.BytesIO()
    torch.save(checkpoint, stream)
    stream.seek(0)
    loaded = torch.load(stream, weights_only=True)  # no allowlist at all
    SafeCheckpointHook().after_load_checkpoint(None, loaded)
    rebuilt = loaded['message_hub']['log_scalars']['loss']
    assert isinstance(rebuilt, HistoryBuffer)
    assert rebuilt.mean() == buffer.mean() and rebuilt.current() == 3.0
    assert loaded['message_hub']['runtime_info']['eta'] == 9.0


def test_resume_never_picks_a_best_checkpoint_over_the_latest(tmp_path):
    for name in ('epoch_3.pth', 'best_coco_bbox_mAP_epoch_7.pth', 'epoch_5.pth'):
        torch.save({'state_dict': {}}, tmp_path / name)
    assert find_latest_valid_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_5.pth')


def test_commands_accept_legacy_checkpoints_and_urls(tmp_path):
    from mmattn.utils.checkpoint import verify_checkpoint
    from mmattn.utils.errors import UsageError
    legacy = tmp_path / 'legacy.pth'
    torch.save({'state_dict': {}}, legacy, _use_new_zipfile_serialization=False)
    verify_checkpoint(str(legacy), 'checkpoint')
    verify_checkpoint('https://example.org/weights.pth', 'checkpoint')
    text = tmp_path / 'notes.pth'
    text.write_text('hello')
    with pytest.raises(UsageError, match="is not a checkpoint"):
        verify_checkpoint(str(text), 'checkpoint')


def test_metrics_json_hook_writes_numpy_and_tensor_values(tmp_path):
    from mmattn.engine import MetricsJSONHook

    class Runner:
        work_dir = str(tmp_path)
        train_loop = None
        epoch = 2

    MetricsJSONHook().after_val_epoch(Runner(), {'accuracy/top1': np.float32(61.5),
                                                 'coco/bbox_mAP': np.float64(0.25),
                                                 'classwise': np.array([0.5, 1.0]),
                                                 'loss': torch.tensor(1.5)})
    data = json.load(open(tmp_path / 'val_metrics_epoch_2.json'))
    assert data == {'accuracy/top1': 61.5, 'coco/bbox_mAP': 0.25, 'classwise': [0.5, 1.0],
                    'loss': 1.5}
