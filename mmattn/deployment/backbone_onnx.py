"""Export a backbone to ONNX with torch's TorchScript exporter and check the
file with onnxruntime.

The TorchScript exporter (``dynamo=False``) records the shapes the blocks
read from their inputs as graph operations, so with ``dynamic=True`` one file
serves any batch, height and width; mmattn's blocks pool with ``mean`` rather
than adaptive pooling, so no pooled size is baked in either.
"""
import contextlib
import io
import os
import warnings
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from mmattn.models.layers.factory import ATTENTION_BLOCKS
from mmattn.utils.compat import onnx_opset_range
from mmattn.utils.staged_writes import staged_file
from .onnx_files import tag_written_by_mmattn

DEFAULT_OPSET = 17
_BLOCK_TYPES = tuple(ATTENTION_BLOCKS.values())


class TupleOutputs(nn.Module):
    """The backbone with its outputs as a tuple of tensors (named out0, out1...)."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        out = self.backbone(x)
        return tuple(out) if isinstance(out, (list, tuple)) else (out,)


@dataclass
class OnnxCheck:
    shape: Tuple[int, ...]
    max_abs_diff: float
    max_rel_diff: float   # max |ort - torch| / max |torch|, over all outputs


def onnx_bytes(module: nn.Module, example: torch.Tensor, output_names: Sequence[str],
               dynamic_axes: Optional[dict], opset: int) -> bytes:
    """``module`` traced on ``example`` (input named ``input``) by torch's
    TorchScript exporter: the serialised model. The one ``torch.onnx.export``
    call of mmattn (backbones, blocks and whole detectors)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad(), quiet_exporter_log():
        warnings.simplefilter('ignore')  # TracerWarnings about shape reads are expected
        torch.onnx.export(module, (example,), buffer, dynamo=False, opset_version=opset,
                          input_names=['input'], output_names=list(output_names),
                          dynamic_axes=dynamic_axes, do_constant_folding=True)
    return buffer.getvalue()


def _export(module: nn.Module, example: torch.Tensor, dynamic: bool, opset: int,
            num_outputs: int) -> Tuple[List[str], bytes]:
    """(output names, serialised model) of a backbone or block."""
    outputs = [f'out{i}' for i in range(num_outputs)]
    axes = None
    if dynamic:
        axes = {'input': {0: 'batch', 2: 'height', 3: 'width'}}
        axes.update({name: {0: 'batch', 2: f'{name}_height', 3: f'{name}_width'}
                     for name in outputs})
    return outputs, onnx_bytes(module, example, outputs, axes, opset)


def export_module(module: nn.Module, out_file: str, shape: Sequence[int], dynamic: bool = True,
                  opset: int = DEFAULT_OPSET) -> List[str]:
    """Write ``module`` (a backbone or one block, in eval mode) to ``out_file``
    for input ``shape`` (N, C, H, W). The file appears only when the export
    has succeeded. Returns the output names."""
    wrapped = TupleOutputs(module)
    wrapped.eval()
    example = torch.randn(*shape)
    with torch.no_grad():
        num_outputs = len(wrapped(example))
    names, model = _export(wrapped, example, dynamic, opset, num_outputs)
    with staged_file(out_file) as staging:
        with open(staging, 'wb') as f:
            f.write(tag_written_by_mmattn(model))
    return names


def compare_with_onnxruntime(module: nn.Module, onnx_file: str,
                             shapes: Sequence[Sequence[int]], seed: int = 0) -> List[OnnxCheck]:
    """Run ``module`` (a backbone, block or exportable detector, in eval mode)
    and the ONNX file on random inputs of each shape; their largest absolute
    and relative differences over all outputs (the one onnxruntime-against-
    PyTorch comparison of mmattn)."""
    import onnxruntime as ort
    session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    wrapped = TupleOutputs(module)
    wrapped.eval()
    generator = torch.Generator().manual_seed(seed)
    checks = []
    for shape in shapes:
        x = torch.randn(*shape, generator=generator)
        with torch.no_grad():
            expected = [t.numpy().astype(np.float64) for t in wrapped(x)]
        got = [g.astype(np.float64) for g in session.run(None, {'input': x.numpy()})]
        pairs = [(g, e) for g, e in zip(got, expected) if e.size]
        abs_diff = max((float(np.abs(g - e).max()) for g, e in pairs), default=0.0)
        rel_diff = max((float(np.abs(g - e).max() / max(np.abs(e).max(), 1e-12))
                        for g, e in pairs), default=0.0)
        checks.append(OnnxCheck(tuple(shape), abs_diff, rel_diff))
    return checks


def block_inputs(model: nn.Module, example: torch.Tensor) -> List[Tuple[str, nn.Module, tuple]]:
    """(path, block, input shape) of every attention block of ``model`` for
    one forward of ``example``."""
    found, handles = {}, []
    for path, module in model.named_modules():
        if isinstance(module, _BLOCK_TYPES):
            def hook(mod, args, path=path):
                found.setdefault(path, (path, mod, tuple(args[0].shape)))  # first call
            handles.append(module.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    return list(found.values())


def unexportable_blocks(model: nn.Module, shape: Sequence[int], dynamic: bool = True,
                        opset: int = DEFAULT_OPSET) -> List[Tuple[str, str, str]]:
    """Export each attention block of ``model`` on its own, with the input it
    gets inside the model, and return (path, class, reason) for those that
    fail. Used to say which block stops a backbone's export."""
    failures = []
    model.eval()
    for path, block, block_shape in block_inputs(model, torch.randn(*shape)):
        try:
            _export(TupleOutputs(block), torch.randn(*block_shape),
                    dynamic, opset, 1)
        except Exception as error:  # noqa: BLE001
            reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            failures.append((path, type(block).__name__, reason))
    return failures


@contextlib.contextmanager
def quiet_exporter_log():
    """Silence file descriptors 1 and 2 during an export. torch's TorchScript
    exporter turns its C++ log on whatever ``verbose`` says (its
    ``setup_onnx_logging`` tests the function ``_jit_is_onnx_log_enabled``
    instead of calling it) and prints the whole graph to stdout when an
    operator has no ONNX form; the exception still says what went wrong."""
    import sys
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, 'w') as devnull:
        os.dup2(devnull.fileno(), 1)
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)


def second_shape(shape: Sequence[int], dynamic: bool) -> Tuple[int, ...]:
    """Another input for the check: with symbolic axes a different batch and
    size (multiples of 32 away), else the same shape with other values."""
    if not dynamic:
        return tuple(shape)
    n, c, h, w = shape
    return (n + 1, c, max(32, h - 64), w + 64)


def supported_opsets() -> Tuple[int, int]:
    """The opset range torch's TorchScript exporter writes."""
    return onnx_opset_range()
