"""INT8 post-training quantisation of an exported detector
(``tools/deployment/quantize_onnx.py``).

onnxruntime's static quantiser (``onnxruntime.quantization.quantize_static``)
in QDQ format: each convolution's weights are stored as per-output-channel
int8 initialisers, and ``QuantizeLinear``/``DequantizeLinear`` pairs (standard
ONNX operators) carry the activations' uint8 scales, calibrated on images of
the config's *train* set through its test pipeline and data preprocessor,
i.e. the inputs the model sees. onnxruntime runs the pairs as int8 kernels and
OpenVINO reads them as its own quantisation, so one file serves both.

Only convolutions (``Conv``, ``ConvTranspose``) and ``Gemm`` are quantised:
their inputs and weights. onnxruntime also quantises each one's output; where
that output flows into no quantised node as a feature map (the prediction
layers: class scores, box regression, centerness, mask logits), the pair is
taken out again
(``fp32_head_outputs``), so that scores, boxes and the mask probabilities to
be pasted reach the post-processing (decoding, ``TopK``,
``NonMaxSuppression``) unrounded. ``RoiAlign`` reads the FPN features as the
RoI heads' first layers would quantise them anyway. ``keep_fp32`` names
further nodes to leave alone.

Activation ranges: min/max over the calibration images (onnxruntime's
percentile and entropy calibrators need inputs of one size, which a
keep-ratio pipeline does not make). Weights: 7 bits by default
(``reduce_range``), the setting onnxruntime recommends for CPUs without VNNI,
where its uint8 x int8 products can saturate; ``reduce_range=False`` gives
8-bit weights for serving on VNNI/AMX CPUs only.
"""
import os
import os.path as osp
import tempfile
from typing import Iterator, List, Optional, Sequence

import numpy as np

from mmattn.utils.errors import UsageError
from mmattn.utils.staged_writes import staged_file
from .onnx_files import tag_written_by_mmattn

QUANTISED_OPS = ('Conv', 'ConvTranspose', 'Gemm')


def check_detector_file(path: str):
    """The ONNX model at ``path`` (without running it); UsageError when it is
    not ONNX, not a detector mmattn exported, or already quantised."""
    import onnx
    if not osp.isfile(path):
        raise UsageError(f'FP32 {path!r} does not exist')
    try:
        model = onnx.load(path)
    except Exception as error:  # noqa: BLE001  (protobuf says it in many ways)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f'FP32 {path!r} is not an ONNX model ({first})') from None
    outputs = [o.name for o in model.graph.output]
    if outputs[:2] != ['dets', 'labels']:
        raise UsageError(f'FP32 {path!r} is not a detector exported by mmattn (its outputs are '
                         f'{outputs}; expected dets, labels[, masks...]: '
                         'tools/deployment/export_detector_onnx.py writes one)')
    if any(n.op_type in ('QuantizeLinear', 'DequantizeLinear') for n in model.graph.node):
        raise UsageError(f'FP32 {path!r} is already quantised; give the fp32 export')
    return model


def calibration_dataset(cfg):
    """The config's train set, with the test pipeline (no augmentation) in
    place of its training pipeline; dataset wrappers (RepeatDataset,
    ClassBalancedDataset, ConcatDataset: its first) are looked through."""
    import copy

    from mmdet.registry import DATASETS
    from mmdet.utils import get_test_pipeline_cfg
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    while 'dataset' in dataset_cfg or 'datasets' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset'] if 'dataset' in dataset_cfg \
            else dataset_cfg['datasets'][0]
    dataset_cfg['serialize_data'] = False  # (mmengine's serialising fails on an empty set)
    dataset_cfg['pipeline'] = [dict(step) for step in get_test_pipeline_cfg(cfg)
                               if not str(step.get('type', '')).endswith('LoadAnnotations')]
    return DATASETS.build(dataset_cfg)


def calibration_inputs(cfg, count: int, declared: Sequence) -> Iterator[np.ndarray]:
    """``count`` inputs (1, 3, H, W) of the train set, evenly spaced over it,
    as the data preprocessor makes them; padded with zeros (what the
    preprocessor pads a batch with, after normalising) up to a fixed size the
    file declares."""
    from mmdet.registry import MODELS
    dataset = calibration_dataset(cfg)
    if len(dataset) == 0:
        raise UsageError('the train set of the config has no images to calibrate on '
                         f'({cfg.train_dataloader.dataset.get("ann_file", "?")!r})')
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    count = min(count, len(dataset))
    for index in np.linspace(0, len(dataset) - 1, count).round().astype(int):
        data = dataset[int(index)]
        batch = preprocessor(dict(inputs=[data['inputs']], data_samples=[data['data_samples']]),
                             False)
        yield _padded_to(batch['inputs'].numpy(), declared, data['data_samples'].img_path)


def _padded_to(inputs: np.ndarray, declared: Sequence, image: str) -> np.ndarray:
    height, width = declared[2], declared[3]
    if not isinstance(height, int) or not isinstance(width, int):
        return inputs
    h, w = inputs.shape[2:]
    if h > height or w > width:
        raise UsageError(f'the test pipeline makes a {h}x{w} input of {image!r}, larger than '
                         f'the {height}x{width} the file was exported for; export it with '
                         '--dynamic, or with a --shape that holds the pipeline\'s images')
    return np.pad(inputs, ((0, 0), (0, 0), (0, height - h), (0, width - w)))


def _declared_input_shape(model) -> List:
    dims = model.graph.input[0].type.tensor_type.shape.dim
    return [d.dim_value if d.HasField('dim_value') else d.dim_param for d in dims]


def quantize_detector(fp32_file: str, out_file: str, cfg, calib_images: int = 64,
                      keep_fp32: Sequence[str] = (), per_channel: bool = True,
                      reduce_range: bool = True, fp32_head_outputs: bool = True) -> dict:
    """Write an INT8 (QDQ) version of ``fp32_file`` to ``out_file``,
    calibrated on ``calib_images`` images of ``cfg``'s train set. The file
    appears only when everything has succeeded. Returns what was done:
    the number of calibration images and of quantised nodes."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    if calib_images < 1:
        raise UsageError(f'--calib-images {calib_images}: expected at least 1')
    model = check_detector_file(fp32_file)
    known = {n.name for n in model.graph.node}
    unknown = [name for name in keep_fp32 if name not in known]
    if unknown:
        raise UsageError(f'--keep-fp32: no node named {", ".join(map(repr, unknown))} in '
                         f'{fp32_file!r}')
    input_name = model.graph.input[0].name
    inputs = list(calibration_inputs(cfg, calib_images, _declared_input_shape(model)))
    own_initialisers(model)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.remaining = iter(inputs)

        def get_next(self) -> Optional[dict]:
            array = next(self.remaining, None)
            return None if array is None else {input_name: array}

    with tempfile.TemporaryDirectory(prefix='mmattn-quantize-') as scratch:
        source = osp.join(scratch, 'fp32.onnx')
        onnx.save(model, source)
        written = osp.join(scratch, 'int8.onnx')
        quantize_static(source, written, Reader(), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=list(QUANTISED_OPS), per_channel=per_channel,
                        reduce_range=reduce_range, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, nodes_to_exclude=list(keep_fp32),
                        calibrate_method=CalibrationMethod.MinMax,
                        extra_options=dict(CalibTensorRangeSymmetric=False),
                        calibration_providers=['CPUExecutionProvider'])
        with open(written, 'rb') as f:
            data = f.read()
        os.remove(written)
    quantised = onnx.load_from_string(data)
    if fp32_head_outputs:
        unquantise_final_outputs(quantised)
        data = quantised.SerializeToString()
    nodes = sum(n.op_type == 'DequantizeLinear' for n in quantised.graph.node)
    if nodes == 0:
        raise UsageError(f'{fp32_file!r} has no {"/".join(QUANTISED_OPS)} node to quantise')
    with staged_file(out_file) as staging:
        with open(staging, 'wb') as f:
            f.write(tag_written_by_mmattn(data))
    return dict(calib_images=len(inputs), dequantize_nodes=nodes,
                int8_weights=len(int8_initializers(quantised)))


def own_initialisers(model) -> int:
    """Give (in place) each ``Identity`` of an initialiser its own copy of it.
    The exporter stores equal tensors once and reads the copies through
    ``Identity`` nodes (all zero biases of BN-folded convolutions in an
    untrained model, or any coinciding ones); the quantiser leaves a bias it
    reads that way in fp32, and onnxruntime then cannot fuse its convolution
    into ``QLinearConv`` and runs it in fp32 between the Q/DQ pairs. Returns
    the number of nodes replaced."""
    from onnx import numpy_helper
    graph = model.graph
    initialisers = {t.name: t for t in graph.initializer}
    outputs = {o.name for o in graph.output}
    identities = [n for n in graph.node if n.op_type == 'Identity' and
                  n.input[0] in initialisers and n.output[0] not in outputs]
    for node in identities:
        copy = numpy_helper.from_array(numpy_helper.to_array(initialisers[node.input[0]]),
                                       node.output[0])
        graph.initializer.append(copy)
        graph.node.remove(node)
    return len(identities)


# Where a value stops being a feature map: boxes, indices and shapes (a
# RoiAlign's RoIs, TopK, NonMaxSuppression, NonZero, Shape, Size). A
# quantised node reached only through them does not make a prediction
# layer's rounding worth keeping.
_INDEX_OPS = ('TopK', 'NonMaxSuppression', 'NonZero', 'Shape', 'Size')


def reaches_quantised_node(graph, tensor: str) -> bool:
    """Whether ``tensor`` flows into a quantised node (``QUANTISED_OPS``)
    through feature operators (not through ``_INDEX_OPS`` or a RoiAlign's
    RoIs)."""
    readers: dict = {}
    for node in graph.node:
        for index, name in enumerate(node.input):
            readers.setdefault(name, []).append((node, index))
    seen, todo = set(), [tensor]
    while todo:
        for node, index in readers.get(todo.pop(), []):
            if node.op_type in QUANTISED_OPS:
                return True
            if node.op_type in _INDEX_OPS or (node.op_type == 'RoiAlign' and index != 0):
                continue
            for out in node.output:
                if out not in seen:
                    seen.add(out)
                    todo.append(out)
    return False


def unquantise_final_outputs(model) -> int:
    """Take out (in place) each QuantizeLinear/DequantizeLinear pair on the
    output of a quantised node (``QUANTISED_OPS``) whose dequantised value
    reaches no quantised node (``reaches_quantised_node``): the prediction
    layers. Their readers read the fp32 output again. Returns the number of
    pairs taken out."""
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    readers: dict = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    removed = []
    for q in graph.node:
        if q.op_type != 'QuantizeLinear' or q.input[0] not in producer or \
                producer[q.input[0]].op_type not in QUANTISED_OPS:
            continue
        dqs = readers.get(q.output[0], [])
        if len(dqs) != 1 or dqs[0].op_type != 'DequantizeLinear' or dqs[0].output[0] in outputs:
            continue
        if reaches_quantised_node(graph, dqs[0].output[0]):
            continue
        for node in readers.get(dqs[0].output[0], []):
            for i, name in enumerate(node.input):
                if name == dqs[0].output[0]:
                    node.input[i] = q.input[0]
        removed += [q, dqs[0]]
    for node in removed:
        graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    for tensor in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(tensor)  # the pairs' scales and zero points
    return len(removed) // 2


def int8_initializers(model) -> List[str]:
    """The names of the model's int8 / uint8 initialisers."""
    import onnx
    return [t.name for t in model.graph.initializer
            if t.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)]
