"""A marker for the attention map inside a block, so tools can read it."""
from typing import Any

import torch
import torch.nn as nn

# What each kind of map looks like when it reaches the probe.
PROBE_LAYOUTS = {
    'channel': '(N, C, 1, 1) gate in [0, 1] (SE, eSE, ECA, MBConv-SE, CBAM/scSE channel)',
    'branch': '(N, S, C[, 1, 1]) softmax over S kernel branches (PSA, SK)',
    'spatial': '(N, 1, H, W) gate in [0, 1] (CBAM, scSE spatial, SAM)',
    'height': "(N, C, H, 1) gate in [0, 1] (Coordinate Attention's a_h)",
    'width': "(N, C, 1, W) gate in [0, 1] (Coordinate Attention's a_w)",
    'pairwise': '(N, HW, HkWk) query-to-key weights; kwargs query_size, key_size '
                '(Non-local, DANet PAM)',
    'criss_cross': '(N, H, W, H + W) softmax over the column then the row of a query '
                   '(CCNet; one call per recurrence)',
    'channel_pairwise': '(N, C, C) channel-to-channel weights (DANet CAM)',
    'spatial_softmax': '(N, 1, HW) softmax over positions; kwarg spatial_size (GCNet)',
}


class AttentionProbe(nn.Module):
    """The identity, placed where a block has computed its attention map.

    Blocks pass their map through a probe (``gate = self.probe(gate)``) and
    use what it returns, so a forward hook on the probe sees exactly the map
    the block applies. Keyword arguments carry the map's spatial layout for
    the hook (``register_forward_hook(..., with_kwargs=True)``); they do not
    change the output. A probe has no parameters or buffers: state dicts,
    tracing and ONNX export are unaffected.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        if kind not in PROBE_LAYOUTS:
            raise ValueError(f'AttentionProbe: kind={kind!r} is unknown; valid kinds: '
                             f'{", ".join(PROBE_LAYOUTS)}')
        self.kind = kind

    def forward(self, attention: torch.Tensor, **layout: Any) -> torch.Tensor:
        return attention

    def extra_repr(self) -> str:
        return f'kind={self.kind!r}'
