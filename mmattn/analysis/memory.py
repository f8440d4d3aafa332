"""Memory of a backbone's training step: the bytes autograd saves for backward
(saved-tensor hooks, storage-deduplicated: what ``with_cp`` trades for
recomputation) and the step's peak (CUDA's allocator peak, or on a CPU the
growth of the kernel's resident high-water mark ``VmHWM`` over the step, in a
fresh process: ``python -m mmattn.analysis.memory CFG BATCH SHAPE``)."""
import json
import subprocess
import sys
from typing import List, Optional, Sequence

import torch
import torch.nn as nn

from .backbone_specs import backbone_config, build_backbone
from .steps import training_loss


def saved_activation_bytes(model: nn.Module, inputs: torch.Tensor) -> int:
    """Bytes of tensors autograd saves for backward during one forward."""
    model.train()
    seen, total = set(), [0]

    def pack(t):
        try:
            key = (t.untyped_storage().data_ptr(), t.device)
        except (RuntimeError, NotImplementedError):
            key = (id(t), t.device)
        if key not in seen:
            seen.add(key)
            total[0] += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = training_loss(model(inputs))
    loss.backward()
    return total[0]


def resident_bytes(peak: bool = False) -> int:
    """The process's resident set (``VmRSS``) or its high-water mark
    (``VmHWM``) from ``/proc/self/status``, in bytes (Linux)."""
    key = 'VmHWM:' if peak else 'VmRSS:'
    with open('/proc/self/status', encoding='ascii') as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'{key} not found in /proc/self/status')


def reset_peak_resident() -> None:
    """Reset the kernel's resident high-water mark to the current resident set
    (``echo 5 > /proc/self/clear_refs``, Linux >= 4.0), so that ``VmHWM``
    afterwards is the peak of what follows: exact, unlike sampling."""
    with open('/proc/self/clear_refs', 'w', encoding='ascii') as f:
        f.write('5')


def peak_train_memory_bytes(spec, batch: int, shape: Sequence[int], device: str,
                            overrides: dict = None) -> int:
    """Peak memory of one training step beyond what the model and input hold.
    CUDA: allocator peak in this process; CPU (Linux): the growth of the
    resident set's high-water mark over the step, in a fresh subprocess."""
    cfg = backbone_config(spec, **(overrides or {}))
    if device.startswith('cuda'):
        model = build_backbone(cfg).to(device)
        model.train()
        x = torch.randn(batch, 3, *shape, device=device)
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        training_loss(model(x)).backward()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    out = subprocess.run([sys.executable, '-m', 'mmattn.analysis.memory', json.dumps(cfg),
                          str(batch), json.dumps(list(shape))],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f'the memory measurement of {cfg} failed:\n{out.stderr[-3000:]}')
    return int(json.loads(out.stdout.strip().splitlines()[-1]))


def _step_peak_in_this_process(cfg: dict, batch: int, shape: Sequence[int]) -> int:
    """The growth of this process's resident high-water mark over one CPU
    training step of ``cfg``'s backbone (the subprocess side of
    ``peak_train_memory_bytes``)."""
    model = build_backbone(cfg)
    model.train()  # not chained: mmdet ResNet.train returns None
    x = torch.randn(batch, 3, *shape)
    base = resident_bytes()
    reset_peak_resident()
    training_loss(model(x)).backward()
    return resident_bytes(peak=True) - base


def main(argv: Optional[List[str]] = None) -> None:
    """``python -m mmattn.analysis.memory CFG_JSON BATCH SHAPE_JSON``: print the
    step's peak in bytes as JSON."""
    cfg, batch, shape = argv if argv is not None else sys.argv[1:]
    print(json.dumps(_step_peak_in_this_process(json.loads(cfg), int(batch), json.loads(shape))))


if __name__ == '__main__':
    main()
