"""Run the hostile-input and careless-user cases of issue #29 against one or
two checkouts of mmattn and print a table: exit status, lines printed,
tracebacks, and the side effect each case checks for.

    python .dev_scripts/hostile_cases.py --checkout BEFORE=../old --checkout AFTER=. \
        [--cases NAME ...] [--timeout 120]

Each case runs the checkout's own tools (``PYTHONPATH`` and the working
folder are the checkout) in a fresh scratch folder ``W``; the inputs are
made by this script with the installed torch, numpy and Pillow. Commands that
could allocate without bound run under a 6 GiB address-space limit.
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import pickle
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np
import torch

HERE = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = 'configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py'
MEMORY_LIMIT = 6 * 2**30


# -------------------------------------------------------------- the inputs
def _digest(path):
    if not osp.isfile(path):
        return 'absent'
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()[:12]


def _data(w):
    """A tiny synthetic set (made with this checkout's maker) and options."""
    root = osp.join(w, 'data')
    subprocess.run([sys.executable, 'tools/misc/make_synthetic_coco.py', root, '--num-train',
                    '8', '--num-val', '2', '--image-size', '64'], cwd=HERE, check=True,
                   capture_output=True, env=dict(os.environ, PYTHONPATH=HERE))
    ann = f'{root}/annotations/instances_val.json'
    return root, ['--cfg-options'] + [f'{s}_dataloader.dataset.data_root={root}/'
                                      for s in ('train', 'val', 'test')] + [
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
        'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1']


def _ann_variant(w, root, change):
    data = json.load(open(f'{root}/annotations/instances_train.json'))
    raw = change(data)
    path = osp.join(w, 'ann.json')
    if isinstance(raw, bytes):
        open(path, 'wb').write(raw)
    else:
        json.dump(raw, open(path, 'w'))
    return f'train_dataloader.dataset.ann_file={path}'


def _demo_checkpoint(w, config=DEMO, name='demo.pth'):
    code = ('import sys, torch, mmattn; from mmengine.config import Config; '
            'from mmdet.registry import MODELS; from mmdet.utils import register_all_modules; '
            'register_all_modules(); cfg = Config.fromfile(sys.argv[1]); '
            'cfg.model.backbone.init_cfg = None; '
            'torch.save({"state_dict": MODELS.build(cfg.model).state_dict()}, sys.argv[2])')
    path = osp.join(w, name)
    subprocess.run([sys.executable, '-c', code, config, path], cwd=HERE, check=True,
                   env=dict(os.environ, PYTHONPATH=HERE), capture_output=True)
    return path


def _with_attention_config(w, channels=None):
    path = osp.join(w, 'with_cbam.py')
    extra = f', channels={channels}' if channels else ''
    open(path, 'w').write(
        f"_base_ = '{HERE}/{DEMO}'\n"
        "model = dict(backbone=dict(_delete_=True, type='WithAttention',\n"
        "    module={{_base_.model.backbone}},\n"
        f"    insert=[dict(at='stage4', block=dict(type='CBAM'){extra})]))\n")
    return path


def _zip_bomb(w):
    good = osp.join(w, 'good.pth')
    torch.save({'state_dict': {'w': torch.ones(4)}}, good)
    bomb = osp.join(w, 'bomb.pth')
    with zipfile.ZipFile(good) as archive, zipfile.ZipFile(bomb, 'w') as out:
        for info in archive.infolist():
            out.writestr(info.filename, archive.read(info))
        out.writestr('good/extra', b'\0' * (100 * 2**20), compress_type=zipfile.ZIP_DEFLATED)
    raw = open(bomb, 'rb').read()
    end = raw.rindex(b'PK\x05\x06')
    size, offset = struct.unpack('<II', raw[end + 12:end + 20])
    directory = raw[offset:offset + size]
    entry = directory[directory.rindex(b'PK\x01\x02'):]
    times = 20000
    count = struct.unpack('<H', raw[end + 10:end + 12])[0] + times
    count = min(count, 0xFFFF)
    directory += entry * times
    open(bomb, 'wb').write(raw[:offset] + directory + raw[end:end + 8] + struct.pack(
        '<HHII', count, count, len(directory), offset) + raw[end + 20:])
    return bomb


def _short_storage(w):
    full, short = osp.join(w, 'full.pth'), osp.join(w, 'short.pth')
    torch.save({'state_dict': {'w': torch.ones(100)}}, full)
    with zipfile.ZipFile(full) as archive, zipfile.ZipFile(short, 'w') as out:
        for info in archive.infolist():
            data = archive.read(info)
            out.writestr(info.filename, data[:40] if info.filename.endswith('data/0') else data)
    return short


def _short_storage_of_demo(w):
    """The demo model's checkpoint with one storage cut short."""
    full = _demo_checkpoint(w)
    short = osp.join(w, 'short_demo.pth')
    with zipfile.ZipFile(full) as archive, zipfile.ZipFile(short, 'w') as out:
        for info in archive.infolist():
            data = archive.read(info)
            out.writestr(info.filename, data[:16] if info.filename.endswith('data/0') else data)
    return short


def _bomb_image(w):
    from PIL import Image
    path = osp.join(w, 'bomb.png')
    Image.new('1', (30000, 30000)).save(path, optimize=True)
    return path


def _small_image(w, name='img.png'):
    from PIL import Image
    path = osp.join(w, name)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 80, 3), np.uint8)).save(path)
    return path


def _cut_jpeg(w):
    import cv2
    path = osp.join(w, 'cut.jpg')
    cv2.imwrite(path, np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:data.index(b'\xff\xda') + 200])
    return path


def _images_to(path):
    def change(data):
        for image in data['images']:
            image['file_name'] = path
        return data
    return change


# -------------------------------------------------------------- the cases
def _py(*args):
    return [sys.executable, *args]


def case_test_stock_checkpoint_with_attention(w):
    root, opts = _data(w)
    stock = _demo_checkpoint(w)
    return _py('tools/test.py', _with_attention_config(w), stock, '--work-dir', f'{w}/work',
               *opts), lambda: ('metrics printed' if osp.isfile(f'{w}/work/test_metrics.json')
                                else 'no metrics')


def case_resume_stock_checkpoint_with_attention(w):
    root, opts = _data(w)
    stock = _demo_checkpoint(w)
    return _py('tools/train.py', _with_attention_config(w), '--resume', stock, '--work-dir',
               f'{w}/work', *opts), None


def case_zip_bomb_checkpoint_preflight(w):
    root, opts = _data(w)
    return _py('tools/train.py', DEMO, '--work-dir', f'{w}/work', '--preflight',
               *opts, f'load_from={_zip_bomb(w)}'), None


def case_converter_dst_is_src(w):
    src = _demo_checkpoint(w, name='s.pth')
    before = _digest(src)
    return _py('tools/model_converters/mmpretrain_to_mmattn.py', src, src), \
        lambda: 'SRC replaced' if _digest(src) != before else 'SRC intact'


def case_converter_dst_is_a_users_file(w):
    src = _demo_checkpoint(w, name='s.pth')
    notes = osp.join(w, 'notes.txt')
    open(notes, 'w').write('my notes')
    return _py('tools/model_converters/mmpretrain_to_mmattn.py', src, notes), \
        lambda: 'notes.txt replaced' if open(notes, 'rb').read() != b'my notes' \
        else 'notes.txt intact'


def case_vis_attention_out_dir_holds_a_users_picture(w):
    out = osp.join(w, 'pictures')
    os.makedirs(out)
    open(f'{out}/detections.jpg', 'wb').write(b'mine')
    return _py('tools/analysis_tools/vis_attention.py', _small_image(w), DEMO,
               _demo_checkpoint(w), '--out-dir', out, '--device', 'cpu'), \
        lambda: 'detections.jpg replaced' if open(f'{out}/detections.jpg', 'rb').read() != \
        b'mine' else 'detections.jpg intact'


def case_polygon_with_huge_coordinates_train(w):
    root, opts = _data(w)

    def huge(data):
        data['annotations'][0]['segmentation'] = [[0, 0, 1e9, 0, 1e9, 1e9]]
        return data
    return _py('tools/train.py', DEMO, '--work-dir', f'{w}/work', *opts,
               _ann_variant(w, root, huge)), None


def case_vis_attention_image_bomb(w):
    return _py('tools/analysis_tools/vis_attention.py', _bomb_image(w), DEMO,
               _demo_checkpoint(w), '--out-dir', f'{w}/o', '--device', 'cpu'), None


def case_export_detector_image_bomb(w):
    return _py('tools/deployment/export_detector_onnx.py', DEMO, 'none', f'{w}/x.onnx',
               '--image', _bomb_image(w), '--benchmark', '1', '--shape', '128', '128'), \
        lambda: 'x.onnx left' if osp.exists(f'{w}/x.onnx') else 'nothing written'


def case_train_preflight_image_bomb(w):
    root, opts = _data(w)
    return _py('tools/train.py', DEMO, '--work-dir', f'{w}/work', '--preflight', *opts,
               _ann_variant(w, root, _images_to(_bomb_image(w)))), None


def case_test_storage_shorter_than_tensor_dist_test_2(w):
    root, opts = _data(w)
    return ['bash', 'tools/dist_test.sh', DEMO, _short_storage_of_demo(w), '2',
            '--work-dir', f'{w}/work', *opts], None


def case_converter_pickle_declaring_2_40_bytes(w):
    path = osp.join(w, 'huge.pkl')
    open(path, 'wb').write(b'\x80\x04\x8e' + struct.pack('<Q', 2**40) + b'abc')
    return _py('tools/model_converters/vovnet_detectron2_to_mmattn.py', path,
               f'{w}/out.pth'), None


def case_converter_pkl_with_numpy_object_array(w):
    path = osp.join(w, 'model.pkl')
    with open(path, 'wb') as f:
        pickle.dump({'model': {'w': np.array([1, 'a'], dtype=object)}}, f)
    return _py('tools/model_converters/vovnet_detectron2_to_mmattn.py', path,
               f'{w}/out.pth'), None


def case_annotations_nested_200000_deep(w):
    root, opts = _data(w)
    return _py('tools/train.py', DEMO, '--work-dir', f'{w}/work', '--preflight', *opts,
               _ann_variant(w, root, lambda a: b'[' * 200000 + b']' * 200000)), None


def case_images_with_width_nan(w):
    root, opts = _data(w)

    def nan(data):
        for image in data['images']:
            image['width'] = float('nan')
        return data
    return _py('tools/train.py', DEMO, '--work-dir', f'{w}/work', '--preflight', *opts,
               _ann_variant(w, root, nan)), None


def case_jpeg_cut_after_start_of_scan_preflight(w):
    root, opts = _data(w)
    return _py('tools/train.py', DEMO, '--work-dir', f'{w}/work', '--preflight', *opts,
               _ann_variant(w, root, _images_to(_cut_jpeg(w)))), None


def case_with_attention_channels_64_at_a_wider_point(w):
    root, opts = _data(w)
    return _py('tools/train.py', _with_attention_config(w, channels=64), '--work-dir',
               f'{w}/work', '--preflight', *opts), None


def _static_onnx(w):
    path = osp.join(w, 'static.onnx')
    subprocess.run(_py('tools/deployment/export_detector_onnx.py', DEMO, 'none', path,
                       '--shape', '96', '96'), cwd=HERE, capture_output=True,
                   env=dict(os.environ, PYTHONPATH=HERE))
    return path


def case_test_onnx_static_file_other_size(w):
    root, opts = _data(w)
    return _py('tools/deployment/test_onnx.py', DEMO, _static_onnx(w), '--work-dir',
               f'{w}/work', *opts), None


def case_export_benchmark_static_other_size(w):
    return _py('tools/deployment/export_detector_onnx.py', DEMO, 'none', f'{w}/out.onnx',
               '--shape', '96', '96', '--benchmark', '1', '--image', _small_image(w)), \
        lambda: 'out.onnx left' if osp.exists(f'{w}/out.onnx') else 'nothing written'


def case_export_out_is_an_existing_folder(w):
    os.makedirs(f'{w}/x.onnx')
    return _py('tools/deployment/export_detector_onnx.py', DEMO, 'none', f'{w}/x.onnx',
               '--shape', '128', '128'), None


def _maker_set(w):
    out = osp.join(w, 'set')
    subprocess.run(_py('tools/misc/make_synthetic_coco.py', out, '--num-train', '2',
                       '--num-val', '1', '--image-size', '32'), cwd=HERE, check=True,
                   capture_output=True, env=dict(os.environ, PYTHONPATH=HERE))
    return out


def case_maker_overwrite_with_a_users_empty_folder(w):
    out = _maker_set(w)
    os.makedirs(f'{out}/my_folder')
    return _py('tools/misc/make_synthetic_coco.py', out, '--num-train', '2', '--num-val', '1',
               '--image-size', '32', '--overwrite'), \
        lambda: 'my_folder removed' if not osp.isdir(f'{out}/my_folder') else 'my_folder kept'


def case_maker_overwrite_with_a_users_symlink(w):
    """A user replaced one of the set's images by a link to their own file."""
    out = _maker_set(w)
    precious = osp.join(w, 'precious.png')
    shutil.copy(f'{out}/train/train_000000.png', precious)
    os.remove(f'{out}/train/train_000000.png')
    os.symlink(precious, f'{out}/train/train_000000.png')
    link = f'{out}/train/train_000000.png'
    return _py('tools/misc/make_synthetic_coco.py', out, '--num-train', '2', '--num-val', '1',
               '--image-size', '32', '--overwrite'), \
        lambda: 'link kept' if osp.islink(link) else 'link replaced'


def case_evaluator_ann_file_left_behind(w):
    root, opts = _data(w)
    opts = [o for o in opts if not o.startswith(('val_evaluator', 'test_evaluator'))]
    return _py('tools/test.py', DEMO, _demo_checkpoint(w), '--work-dir', f'{w}/work',
               *opts), None


def case_selective_kernel_one_image_training(w):
    code = ('import torch, mmattn; from mmattn.models.layers.sk import SelectiveKernel; '
            'SelectiveKernel(64).train()(torch.randn(1, 64, 8, 8))')
    return _py('-c', code), None


def case_second_training_into_a_busy_work_dir(w):
    root, opts = _data(w)
    first = subprocess.Popen(_py('tools/train.py', DEMO, '--work-dir', f'{w}/work', *opts,
                                 'train_cfg.max_epochs=100'), cwd=HERE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=dict(os.environ, PYTHONPATH=HERE))
    _PENDING.append(first)
    for _ in range(120):  # until the first run has started training
        time.sleep(1)
        if any(name.endswith('.log') for _, _, files in os.walk(f'{w}/work') for name in files):
            time.sleep(3)
            break
    return _py('tools/train.py', DEMO, '--work-dir', f'{w}/work', '--preflight', *opts), \
        lambda: 'first run still training' if first.poll() is None else 'first run ended'


_PENDING = []
CASES = {name[len('case_'):]: fn for name, fn in sorted(globals().items())
         if name.startswith('case_')}


# ------------------------------------------------------------ running them
def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_case(name: str, checkout: str, timeout: int) -> dict:
    global HERE
    HERE = osp.abspath(checkout)
    w = tempfile.mkdtemp(prefix=f'hostile-{name}-')
    try:
        cmd, effect = CASES[name](w)
        started = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=timeout,
                                  env=dict(os.environ, PYTHONPATH=HERE, OMP_NUM_THREADS='1'),
                                  preexec_fn=_limit_memory)
            rc, text = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as error:
            rc = f'timed out after {timeout} s'
            text = (error.stdout or b'').decode(errors='replace') + \
                (error.stderr or b'').decode(errors='replace')
        seconds = time.perf_counter() - started
        lines = [line for line in text.splitlines() if line.strip()]
        ours = [line for line in lines if 'error:' in line]
        theirs = [line for line in lines if line.split(':')[0].endswith(('Error', 'Exception'))
                  or 'Segmentation' in line or 'error' in line.split(':')[0].lower()]
        metrics = [line for line in lines if 'bbox_mAP' in line]
        message = (ours or theirs or metrics or lines or [''])[0 if ours else -1]
        row = dict(rc=rc, lines=len(lines), tracebacks=text.count('Traceback (most recent'),
                   seconds=round(seconds, 1), message=message.replace(w, 'W').strip()[:150],
                   effect=effect() if effect else '')
        return row
    finally:
        for proc in _PENDING:
            proc.kill()
            proc.wait()
        _PENDING.clear()
        shutil.rmtree(w, ignore_errors=True)


def _cell(row: dict) -> str:
    rc = row['rc'] if isinstance(row['rc'], str) else f"rc {row['rc']}"
    effect = f"; {row['effect']}" if row['effect'] else ''
    return (f"{rc}, {row['lines']} lines, {row['tracebacks']} tb, {row['seconds']} s{effect}: "
            f"{row['message']}").replace('|', '\\|')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--checkout', action='append', required=True, metavar='LABEL=DIR')
    parser.add_argument('--cases', nargs='+', choices=sorted(CASES), default=sorted(CASES))
    parser.add_argument('--timeout', type=int, default=120)
    parser.add_argument('--json', help='also write the rows here')
    args = parser.parse_args(argv)
    checkouts = [c.split('=', 1) for c in args.checkout]
    rows = {}
    for name in args.cases:
        rows[name] = {label: run_case(name, path, args.timeout) for label, path in checkouts}
        shown = ' || '.join(f'{label}: {_cell(rows[name][label])}' for label, _ in checkouts)
        print(f'{name}: {shown}', file=sys.stderr, flush=True)
    labels = [label for label, _ in checkouts]
    print(f"| case | {' | '.join(labels)} |")
    print('| --- |' + ' --- |' * len(labels))
    for name, by_label in rows.items():
        print(f"| {name.replace('_', ' ')} | "
              + ' | '.join(_cell(by_label[label]) for label in labels) + ' |')
    if args.json:
        json.dump(rows, open(args.json, 'w'), indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
