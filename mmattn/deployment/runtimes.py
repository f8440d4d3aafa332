"""The runtimes an exported ONNX file runs in, behind one small interface:
onnxruntime (CPU execution provider by default) and OpenVINO (its CPU plugin
reads the ONNX file as it is; no conversion step).

    session = open_session('model.onnx', backend='openvino', precision='bf16')
    session.input_shape     # the declared (N, C, H, W): ints, or names for symbolic sizes
    session.output_names    # ['dets', 'labels', ...]
    session.run(array)      # the outputs, numpy arrays in output_names' order

``precision`` is OpenVINO's inference-precision hint: ``f32`` (default; what
onnxruntime computes too) or ``bf16`` (only where the CPU has bf16 units:
AVX-512 BF16 or AMX; elsewhere a UsageError, as OpenVINO would silently run
f32). An INT8 file (``quantize_onnx.py``) needs no option: both runtimes read
its QuantizeLinear/DequantizeLinear pairs.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from mmattn.utils.errors import UsageError

BACKENDS = ('onnxruntime', 'openvino')
PRECISIONS = ('f32', 'bf16')

Dim = Union[int, str]


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class OnnxRuntimeSession:
    """An onnxruntime ``InferenceSession`` of a file, its worker threads told
    not to spin after a run (``session.intra_op.allow_spinning=0``): spinning
    ones take the cores from what runs next, the post-processing outside the
    file (mask pasting) or another route of a side-by-side benchmark
    (measured: ``docs/deployment.md``, ``.dev_scripts/ort_spinning.py``)."""

    backend = 'onnxruntime'

    def __init__(self, path: str, providers: Optional[Sequence[str]] = None,
                 profile: bool = False) -> None:
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        if profile:
            import tempfile
            options.enable_profiling = True
            options.profile_file_prefix = osp.join(tempfile.mkdtemp(prefix='mmattn-ort-'), 'run')
        try:
            self.session = ort.InferenceSession(
                path, options, providers=list(providers or ['CPUExecutionProvider']))
        except Exception as error:  # noqa: BLE001  (onnxruntime says it in many ways)
            raise UsageError(f'{path!r} cannot be loaded by onnxruntime: '
                             f'{_first_line(error)}') from None
        self.input_shape: List[Dim] = list(self.session.get_inputs()[0].shape)
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._input_name = self.session.get_inputs()[0].name
        self.runs = 0  # for operator_profile's per-run average

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        self.runs += 1
        return self.session.run(None, {self._input_name: inputs})

    def operator_profile(self) -> Dict[str, float]:
        """Milliseconds per run by operator type, over the runs so far (a
        session opened with ``profile=True``; profiling ends here)."""
        import json
        import shutil
        path = self.session.end_profiling()
        with open(path, encoding='utf-8') as f:
            events = json.load(f)
        shutil.rmtree(osp.dirname(path), ignore_errors=True)
        totals: Dict[str, float] = {}
        for event in events:
            if event.get('cat') == 'Node' and event['name'].endswith('_kernel_time'):
                op = event['args'].get('op_name', '?')
                totals[op] = totals.get(op, 0.0) + event['dur'] / 1000
        runs = max(self.runs, 1)
        return {op: ms / runs for op, ms in totals.items()}


def cpu_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin computes in bf16 on this machine."""
    import openvino as ov
    return 'BF16' in ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')


class OpenVinoSession:
    """A file compiled by OpenVINO's CPU plugin (latency mode: one request at a
    time, as batch-1 serving runs it)."""

    backend = 'openvino'

    def __init__(self, path: str, precision: str = 'f32', profile: bool = False) -> None:
        try:
            import openvino as ov
        except ImportError:
            raise UsageError("--backend openvino needs OpenVINO: pip install openvino "
                             "(or pip install -e '.[deploy]')") from None
        if precision not in PRECISIONS:
            raise UsageError(f'precision {precision!r} is not one of {", ".join(PRECISIONS)}')
        if precision == 'bf16' and not cpu_has_bf16():
            raise UsageError('precision bf16: this CPU has no bf16 units (OpenVINO lists '
                             f"{ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')}; "
                             'bf16 needs AVX-512 BF16 or AMX); use f32')
        core = ov.Core()
        try:
            model = core.read_model(path)
            self.compiled = core.compile_model(model, 'CPU', {
                'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': precision,
                'PERF_COUNT': profile})
        except Exception as error:  # noqa: BLE001  (OpenVINO says it in many ways)
            raise UsageError(f'{path!r} cannot be loaded by OpenVINO: '
                             f'{_first_line(error)}') from None
        self.precision = precision
        shape = model.inputs[0].get_partial_shape()
        self.input_shape = [d.get_length() if d.is_static else f'dim{i}'
                            for i, d in enumerate(shape)]
        self.output_names = [o.get_any_name() for o in self.compiled.outputs]
        self.request = self.compiled.create_infer_request()

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        results = self.request.infer([np.ascontiguousarray(inputs)])
        # copies: the request reuses its output buffers on the next call
        return [np.array(results[o]) for o in self.compiled.outputs]

    def operator_profile(self) -> Dict[str, float]:
        """Milliseconds by (executed) operator type in the last run (a session
        opened with ``profile=True``)."""
        totals: Dict[str, float] = {}
        for info in self.request.get_profiling_info():
            if info.status == info.Status.EXECUTED:
                key = info.exec_type.split('_')[0] + ':' + info.node_type
                totals[key] = totals.get(key, 0.0) + info.real_time.total_seconds() * 1000
        return totals


def open_session(path: str, backend: str = 'onnxruntime', precision: Optional[str] = None,
                 providers: Optional[Sequence[str]] = None, profile: bool = False):
    """A session of ``path`` in ``backend`` (one of ``BACKENDS``)."""
    if backend not in BACKENDS:
        raise UsageError(f'backend {backend!r} is not one of {", ".join(BACKENDS)}')
    if backend == 'onnxruntime':
        if precision not in (None, 'f32'):
            raise UsageError(f'precision {precision!r} is for --backend openvino; onnxruntime '
                             'computes the file in f32 (or its INT8 operators)')
        return OnnxRuntimeSession(path, providers, profile)
    if providers:
        raise UsageError('providers are onnxruntime execution providers; OpenVINO takes none')
    return OpenVinoSession(path, precision or 'f32', profile)
