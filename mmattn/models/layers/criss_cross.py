"""Recurrent criss-cross attention (Huang et al., "CCNet: Criss-Cross Attention
for Semantic Segmentation", ICCV 2019), as in ``speedinghzl/CCNet``.

Factory key ``'cc'``, after the network's name (CCNet); the file names the
mechanism.
"""
from typing import Optional

import torch

from ..utils.arguments import check_int
from .attention_probe import AttentionProbe
from .factory import attention_block
from .query_key_value import QueryKeyValueAttention


@attention_block('cc')
class RecurrentCrissCrossAttention(QueryKeyValueAttention):
    """Each position attends to the H + W - 1 positions of its row and column
    (the centre counted once: its column energy is masked with -inf, as in the
    official code); ``out = gamma * aggregate + x`` with ``gamma`` starting at 0.
    The module is applied ``recurrence`` times with the **same weights**
    (R = 2 in the paper, which makes every position reach every other).

    Q and K project to ``in_channels // 8`` (``rd_ratio=1/8``; see
    ``QueryKeyValueAttention``), V keeps ``in_channels``. The
    energies, softmax and aggregation run in float32 under autocast. mmcv's
    ``CrissCrossAttention`` is the single-pass module (``recurrence=1`` here).
    """

    def __init__(self, in_channels: int, recurrence: int = 2, rd_ratio: float = 1 / 8,
                 rd_channels: Optional[int] = None, rd_divisor: int = 1, init_cfg=None) -> None:
        super().__init__(in_channels, rd_ratio, rd_channels, rd_divisor, init_cfg)
        self.recurrence = check_int(type(self).__name__, 'recurrence', recurrence)
        self.probe = AttentionProbe('criss_cross')

    def _attend(self, x: torch.Tensor) -> torch.Tensor:
        h = x.shape[2]
        q, k, v = self.query_conv(x), self.key_conv(x), self.value_conv(x)
        with torch.autocast(device_type=x.device.type, enabled=False):
            q, k, v = q.float(), k.float(), v.float()
            energy_h = torch.einsum('nchw,nciw->nhwi', q, k)
            rows = torch.arange(h, device=x.device)
            centre = (rows[:, None] == rows[None, :]).unsqueeze(1)  # (h, 1, i): i == h
            energy_h = energy_h.masked_fill(centre, float('-inf'))
            energy_w = torch.einsum('nchw,nchj->nhwj', q, k)
            attention = self.probe(torch.softmax(torch.cat([energy_h, energy_w], dim=-1), dim=-1))
            att_h, att_w = attention[..., :h], attention[..., h:]
            out = (torch.einsum('nhwi,nciw->nchw', att_h, v) +
                   torch.einsum('nhwj,nchj->nchw', att_w, v))
        return self.gamma * out.to(x.dtype) + x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.recurrence):
            x = self._attend(x)
        return x
