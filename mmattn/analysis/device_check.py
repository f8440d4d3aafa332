"""Every attention block and backbone, forward and backward on one device
under float16/bfloat16 autocast, compared with the same module in float32.
Meant for GPUs (``python tools/analysis_tools/device_check.py``); runs on CPU too."""
from typing import Callable, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

DTYPES = {'fp16': torch.float16, 'bf16': torch.bfloat16}


Case = Tuple[str, Callable[[], nn.Module], Tuple[int, ...]]


def _cases(channels: int, size: Tuple[int, int]) -> List[Case]:
    from mmattn.models import ATTENTION_BLOCKS, build_attention
    from mmattn.models.backbones import EPSANet, VoVNet
    cases = [(f'block:{name}', (lambda n=name: build_attention(n, channels)), (2, channels, *size))
             for name in sorted(ATTENTION_BLOCKS)]
    cases += [('backbone:EPSANet-50', lambda: EPSANet(depth=50), (2, 3, 128, 128)),
              ('backbone:VoVNet-39', lambda: VoVNet('V-39-eSE'), (2, 3, 128, 128)),
              ('backbone:VoVNet-19-slim-dw', lambda: VoVNet('V-19-slim-dw-eSE'), (2, 3, 128, 128)),
              ('backbone:VoVNet-39 with_cp', lambda: VoVNet('V-39-eSE', with_cp=True),
               (2, 3, 128, 128))]
    return cases


def _as_list(out) -> List[torch.Tensor]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def check(device: str, dtypes: Sequence[str] = ('fp16', 'bf16'), channels: int = 64,
          size: Tuple[int, int] = (17, 13), only: str = '', tolerance: float = 5e-2) -> List[Dict]:
    """Rows of {name, dtype, rel_error, finite_grads, ok}. The relative error is
    ||out_autocast - out_fp32|| / ||out_fp32|| in eval mode (BN statistics
    fixed); gradients come from a training-mode pass (so ``with_cp`` recomputes)."""
    rows = []
    for name, make, shape in _cases(channels, size):
        if only and only not in name:
            continue
        torch.manual_seed(0)
        model = make().to(device).eval()
        for p in model.parameters():  # exercise zero-initialised attention paths
            if (p == 0).all():
                with torch.no_grad():
                    p.normal_(0, 0.2)
        x = torch.randn(*shape, device=device)
        with torch.no_grad():
            ref = _as_list(model(x))
        device_type = torch.device(device).type
        for key in dtypes:
            with torch.no_grad(), torch.autocast(device_type=device_type, dtype=DTYPES[key]):
                outs = _as_list(model.eval()(x))
            num = sum((o.float() - r).norm() ** 2 for o, r in zip(outs, ref)) ** 0.5
            den = sum(r.norm() ** 2 for r in ref) ** 0.5
            rel = float(num / den)
            model.train()
            model.zero_grad(set_to_none=True)
            xg = x.clone().requires_grad_()
            with torch.autocast(device_type=device_type, dtype=DTYPES[key]):
                outs = _as_list(model(xg))
            sum(o.float().sum() for o in outs).backward()
            grads = [p.grad for p in model.parameters() if p.grad is not None] + [xg.grad]
            finite = all(torch.isfinite(g).all() for g in grads)
            rows.append(dict(name=name, dtype=key, rel_error=rel, finite_grads=bool(finite),
                             ok=bool(finite and rel <= tolerance)))
    return rows
