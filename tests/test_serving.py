"""Serving on CPU (#31): OpenVINO as a second runtime, INT8 quantisation
(``quantize_onnx.py``), the serving benchmark; their one-message failures and
the staged write. (Each family in OpenVINO against PyTorch and onnxruntime,
detection by detection: tests/test_detector_onnx.py; INT8 AP of a model
trained in the test: there too, beside the fp32 AP.)"""
import os
import os.path as osp

import numpy as np
import onnx
import pytest

from _helpers import synthetic_data_options

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'configs/demo/mask_rcnn_vovnet19_slim_dw_synthetic.py')
CENTERMASK = osp.join(REPO, 'configs/demo/centermask-lite_vovnet19_slim_dw_synthetic.py')


@pytest.fixture(scope='module')
def data_options(tmp_path_factory):
    return synthetic_data_options(str(tmp_path_factory.mktemp('data') / 'set'), num_train=6)


@pytest.fixture(scope='module')
def fp32_file(tmp_path_factory, data_options):
    """The demo Mask R-CNN (its initialisation, seeded: an untrained model's
    scores nearly tie, and the export's check needs the same order in both),
    exported with dynamic sizes."""
    import torch

    from mmattn.cli.export_detector_onnx import main
    torch.manual_seed(0)
    out = str(tmp_path_factory.mktemp('onnx') / 'fp32.onnx')
    assert main([DEMO, 'none', out, '--shape', '64', '64', '--dynamic', '--cfg-options',
                 *data_options]) == 0
    return out


def _quantize(*args):
    from mmattn.cli.quantize_onnx import main
    return main([str(a) for a in args])


@pytest.mark.slow
def test_quantize_writes_int8_weights_in_standard_operators_both_runtimes_run(
        fp32_file, data_options, tmp_path, capsys):
    from mmattn.deployment.detector_onnx import foreign_domains
    from mmattn.deployment.onnx_detector import OnnxDetector
    from mmattn.deployment.onnx_files import written_by_mmattn
    from mmattn.deployment.quantization import int8_initializers, reaches_quantised_node
    from mmattn.deployment.runtimes import BACKENDS
    out = tmp_path / 'int8.onnx'
    assert _quantize(DEMO, fp32_file, out, '--calib-images', 3, '--cfg-options',
                     *data_options) == 0
    assert 'calibrated on 3 train images' in capsys.readouterr().out
    fp32, int8 = onnx.load(fp32_file), onnx.load(str(out))
    assert foreign_domains(str(out)) == [] and written_by_mmattn(str(out))
    # every Conv of the fp32 file reads its weight from an int8 initialiser
    # (through DequantizeLinear); the post-processing operators stay fp32
    convs = [n for n in fp32.graph.node if n.op_type in ('Conv', 'ConvTranspose')]
    int8_names = set(int8_initializers(int8))
    dequantized = {n.output[0]: n.input[0] for n in int8.graph.node
                   if n.op_type == 'DequantizeLinear'}
    quantised_convs = [n for n in int8.graph.node if n.op_type in ('Conv', 'ConvTranspose')]
    assert len(quantised_convs) == len(convs) > 20
    for node in quantised_convs:
        assert dequantized.get(node.input[1]) in int8_names, node.name
    types = {t.name: t.data_type for t in int8.graph.initializer}
    assert sum(types[n] == onnx.TensorProto.INT8 for n in int8_names) >= len(convs)
    # a dequantised activation flows into a quantised node; the prediction
    # layers' outputs (read by the post-processing only) stay fp32
    readers = {}
    for node in int8.graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node.op_type)
    for dq_output, source in dequantized.items():
        if source not in int8_names:
            assert reaches_quantised_node(int8.graph, dq_output), readers[dq_output]
    heads = [n for n in quantised_convs if 'conv_logits' in n.name or 'rpn_reg' in n.name]
    assert any('conv_logits' in n.name for n in heads) and len(heads) > 1
    for node in heads:
        assert 'QuantizeLinear' not in readers[node.output[0]], node.name
    # the backbone's convolutions keep their quantised outputs (onnxruntime
    # fuses DequantizeLinear -> Conv -> QuantizeLinear into one int8 kernel)
    backbone = [n for n in quantised_convs if n.name.startswith('/backbone/')]
    assert sum('QuantizeLinear' in readers[n.output[0]] for n in backbone) > 0.8 * len(backbone)
    # ... which needs each bias as a DequantizeLinear of int32, also where the
    # exporter shared equal biases through Identity nodes (the untrained
    # model's zero ones), and then it does fuse them
    assert any(n.op_type == 'Identity' for n in fp32.graph.node)
    for node in quantised_convs:
        if len(node.input) > 2:
            bias = dequantized.get(node.input[2])
            assert types.get(bias) == onnx.TensorProto.INT32, node.name
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / 'optimised.onnx')
    ort.InferenceSession(str(out), options, providers=['CPUExecutionProvider'])
    optimised = onnx.load(options.optimized_model_filepath)
    fused = [n for n in optimised.graph.node if n.op_type == 'QLinearConv']
    assert len(fused) >= sum('QuantizeLinear' in readers[n.output[0]] for n in backbone)
    assert os.path.getsize(out) < 0.5 * os.path.getsize(fp32_file)
    image = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    for backend in BACKENDS:
        sample = OnnxDetector(str(out), DEMO, backend=backend)(image)
        assert sample.pred_instances.masks.shape[1:] == (64, 64)


@pytest.mark.slow
def test_calibration_inputs_are_the_train_sets_through_the_test_pipeline(data_options):
    """What the quantiser calibrates on equals what the data preprocessor
    makes of the train images (not the val images, not augmented); a fixed
    file size is reached by the preprocessor's zero padding."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.registry import init_default_scope

    from mmattn.deployment.onnx_detector import test_pipeline
    from mmattn.deployment.quantization import calibration_inputs
    from mmattn.utils.config import load_config
    register_all_modules()
    cfg = load_config(DEMO, dict(option.split('=', 1) for option in data_options))
    init_default_scope('mmdet')
    inputs = list(calibration_inputs(cfg, 3, ['batch', 3, 'h', 'w']))
    assert len(inputs) == 3
    root = cfg.train_dataloader.dataset.data_root
    import json
    with open(f'{root}annotations/instances_train.json', encoding='utf-8') as f:
        names = [image['file_name'] for image in json.load(f)['images']]
    assert len(names) == 6
    pipeline = test_pipeline(cfg, from_array=False)
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    for array, index in zip(inputs, (0, 2, 5)):  # evenly spaced over the 6 train images
        data = pipeline(dict(img_path=f'{root}train/{names[index]}', img_id=0))
        expected = preprocessor(dict(inputs=[data['inputs']],
                                     data_samples=[data['data_samples']]), False)['inputs']
        np.testing.assert_array_equal(array, expected.numpy())
    (padded,) = calibration_inputs(cfg, 1, [1, 3, 160, 192])
    assert padded.shape == (1, 3, 160, 192)
    np.testing.assert_array_equal(padded[..., :inputs[0].shape[2], :inputs[0].shape[3]],
                                  inputs[0])
    assert not padded[..., inputs[0].shape[2]:, :].any()
    from mmattn.utils.errors import UsageError
    with pytest.raises(UsageError, match=r'larger than the 32x32 the file was exported for'):
        list(calibration_inputs(cfg, 1, [1, 3, 32, 32]))


@pytest.mark.slow
def test_quantize_failures_are_one_message_and_leave_nothing(fp32_file, data_options, tmp_path,
                                                             capsys, monkeypatch):
    out = tmp_path / 'int8.onnx'
    not_onnx = tmp_path / 'notes.onnx'
    not_onnx.write_text('not a model')
    import onnx.helper as oh
    plain = oh.make_model(oh.make_graph(
        [oh.make_node('Relu', ['x'], ['y'])], 'g',
        [oh.make_tensor_value_info('x', onnx.TensorProto.FLOAT, [1])],
        [oh.make_tensor_value_info('y', onnx.TensorProto.FLOAT, [1])]))
    not_detector = tmp_path / 'relu.onnx'
    onnx.save(plain, str(not_detector))
    empty = tmp_path / 'empty'
    synthetic_data_options(str(empty), num_train=1)
    import json
    ann_file = empty / 'annotations' / 'instances_train.json'
    ann = json.loads(ann_file.read_text())
    ann['images'], ann['annotations'] = [], []
    ann_file.write_text(json.dumps(ann))
    cases = [
        ((DEMO, not_onnx, out), f"FP32 '{not_onnx}' is not an ONNX model"),
        ((DEMO, not_detector, out), "is not a detector exported by mmattn (its outputs are "
                                    "['y']"),
        ((DEMO, tmp_path / 'missing.onnx', out), 'does not exist'),
        ((DEMO, fp32_file, tmp_path / 'int8.txt'), 'must end with .onnx'),
        ((DEMO, fp32_file, fp32_file), f"is the input '{fp32_file}' itself"),
        ((DEMO, fp32_file, out, '--keep-fp32', 'no_such_node'), "no node named 'no_such_node'"),
        ((DEMO, fp32_file, out, '--cfg-options',
          f'train_dataloader.dataset.data_root={empty}/'), 'no images'),
    ]
    for args, message in cases:
        assert _quantize(*args, *(() if '--cfg-options' in args else
                                  ('--cfg-options', *data_options))) == 2, args
        err = capsys.readouterr().err
        assert message in err and 'Traceback' not in err, (args, err)
        assert err.count('quantize_onnx: error:') == 1
        assert not out.exists() and not list(tmp_path.glob('int8.onnx*')), args
    # a failure inside the quantiser, after it has written its file: nothing at OUT
    import onnxruntime.quantization as q

    def half_then_fail(model_input, model_output, *args, **kwargs):
        with open(model_output, 'wb') as f:
            f.write(b'half')
        raise RuntimeError('calibration failed')
    monkeypatch.setattr(q, 'quantize_static', half_then_fail)
    with pytest.raises(RuntimeError, match='calibration failed'):
        _quantize(DEMO, fp32_file, out, '--calib-images', 1, '--cfg-options', *data_options)
    assert not out.exists() and not list(tmp_path.glob('int8.onnx*'))
    # an existing file mmattn did not write is kept
    out.write_bytes(b'users file')
    assert _quantize(DEMO, fp32_file, out, '--cfg-options', *data_options) == 2
    assert 'already exists and was not written by this command' in capsys.readouterr().err
    assert out.read_bytes() == b'users file'


@pytest.mark.slow
def test_an_int8_file_is_not_quantised_again(fp32_file, data_options, tmp_path, capsys):
    out = tmp_path / 'int8.onnx'
    assert _quantize(DEMO, fp32_file, out, '--calib-images', 1, '--cfg-options',
                     *data_options) == 0
    assert _quantize(DEMO, out, tmp_path / 'again.onnx', '--cfg-options', *data_options) == 2
    assert 'is already quantised; give the fp32 export' in capsys.readouterr().err


def test_onnxruntime_threads_do_not_spin_after_a_run(tmp_path):
    import onnx.helper as oh

    from mmattn.deployment.runtimes import open_session
    path = tmp_path / 'relu.onnx'
    onnx.save(oh.make_model(oh.make_graph(
        [oh.make_node('Relu', ['x'], ['y'])], 'g',
        [oh.make_tensor_value_info('x', onnx.TensorProto.FLOAT, [1, 3])],
        [oh.make_tensor_value_info('y', onnx.TensorProto.FLOAT, [1, 3])])), str(path))
    session = open_session(str(path), 'onnxruntime')
    options = session.session.get_session_options()
    assert options.get_session_config_entry('session.intra_op.allow_spinning') == '0'
    np.testing.assert_array_equal(session.run(np.array([[-1.0, 0.0, 2.0]], np.float32))[0],
                                  [[0.0, 0.0, 2.0]])


def test_runtimes_refuse_what_they_cannot_load_in_one_message(tmp_path):
    from mmattn.deployment.runtimes import cpu_has_bf16, open_session
    from mmattn.utils.errors import UsageError
    bad = tmp_path / 'bad.onnx'
    bad.write_text('not a model')
    for backend, shown in (('onnxruntime', 'onnxruntime'), ('openvino', 'OpenVINO')):
        with pytest.raises(UsageError, match=f"'{bad}' cannot be loaded by {shown}: "):
            open_session(str(bad), backend)
    with pytest.raises(UsageError, match="backend 'tensorrt' is not one of onnxruntime, openvino"):
        open_session(str(bad), 'tensorrt')
    with pytest.raises(UsageError, match="precision 'bf16' is for --backend openvino"):
        open_session(str(bad), 'onnxruntime', 'bf16')
    if not cpu_has_bf16():
        with pytest.raises(UsageError, match='this CPU has no bf16 units'):
            open_session(str(bad), 'openvino', 'bf16')


def test_machine_line_names_the_isa():
    from mmattn.analysis.machine import ISA_FLAGS, isa_flags, machine_line
    with open('/proc/cpuinfo', encoding='utf-8') as f:
        flags = next(line for line in f if line.startswith('flags')).split(':')[1].split()
    expected = [flag for flag in ISA_FLAGS if flag in flags]
    assert isa_flags().split() == expected or not expected
    assert f'(ISA: {isa_flags()})' in machine_line()


@pytest.mark.slow
def test_benchmark_serving_times_every_route_side_by_side(data_options, tmp_path, capsys):
    """Tiny CenterMask-Lite, --score-thr 0: max_per_img detections through the
    mask head on every route; the INT8 routes from a file quantised here."""
    import torch

    from mmattn.cli.benchmark_serving import main
    from mmattn.cli.export_detector_onnx import main as export
    from mmattn.deployment.runtimes import cpu_has_bf16
    torch.manual_seed(0)
    fp32 = str(tmp_path / 'cm.onnx')
    assert export([CENTERMASK, 'none', fp32, '--shape', '128', '128', '--score-thr', '0',
                   '--max-per-img', '7', '--cfg-options', *data_options]) == 0
    int8 = tmp_path / 'cm_int8.onnx'
    assert _quantize(CENTERMASK, fp32, int8, '--calib-images', 2, '--cfg-options',
                     *data_options) == 0
    capsys.readouterr()
    assert main([CENTERMASK, 'none', '--int8', str(int8), '--shape', '64', '64', '--rounds', '2',
                 '--warmup', '1', '--score-thr', '0', '--max-per-img', '7', '--profile',
                 '--cfg-options', *data_options]) == 0
    out = capsys.readouterr().out
    assert 'max_per_img detections forced' in out and '(ISA: ' in out
    rows = {line.split('|')[1].strip(): line.split('|')[2:-1] for line in out.splitlines()
            if line.startswith('| ') and 'route' not in line and '---' not in line}
    expected = ['PyTorch fp32', 'onnxruntime fp32', 'onnxruntime INT8', 'OpenVINO fp32',
                'OpenVINO INT8'] + (['OpenVINO bf16'] if cpu_has_bf16() else [])
    assert list(rows) == expected
    for name, cells in rows.items():
        assert float(cells[0]) > 0 and int(cells[-1]) == 7, (name, cells)
    assert float(rows['PyTorch fp32'][1]) == 1.0
    assert out.count('network by operator type') == len(expected) - 1
    assert 'Conv' in out
    # a route that needs what was not given: one message
    assert main([CENTERMASK, 'none', '--routes', 'ort-int8', '--cfg-options',
                 *data_options]) == 2
    assert 'ort-int8 needs --int8 FILE' in capsys.readouterr().err
