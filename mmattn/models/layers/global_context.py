"""Global Context block (Cao et al., "GCNet: Non-local Networks Meet
Squeeze-Excitation Networks and Beyond", ICCVW 2019), extending mmcv's
``ContextBlock``.

Factory key ``'gc'``, after the network's name (GCNet); the file names the
block.
"""
from typing import Optional, Sequence

import torch
from mmcv.cnn import ContextBlock

from ..utils.arguments import check_choice, check_int, reduced_channels
from ..utils.functional import flatten_spatial, fp32_bmm, global_avg
from .attention_probe import AttentionProbe
from .factory import attention_block


@attention_block('gc')
class GlobalContextBlock(ContextBlock):
    """mmcv's ``ContextBlock`` (attention pooling, channel-add fusion, the
    bottleneck's last conv zero-initialised) with ``int(C / 16)`` hidden
    channels by default as in the official GCNet configs (``rd_ratio``,
    ``rd_channels``, ``rd_divisor`` as in timm), plus: the spatial softmax in float32 under
    autocast, channels_last support (``reshape``, ``mean`` instead of adaptive
    pooling), the zero init re-applied in ``init_weights()``, and
    ``ValueError`` for bad arguments instead of ``assert``.
    """

    def __init__(self, in_channels: int, rd_ratio: float = 1 / 16,
                 rd_channels: Optional[int] = None, rd_divisor: int = 1,
                 pooling_type: str = 'att',
                 fusion_types: Sequence[str] = ('channel_add',)) -> None:
        name = type(self).__name__
        check_int(name, 'in_channels', in_channels)
        check_choice(name, 'pooling_type', pooling_type, ('att', 'avg'))
        fusion_types = tuple(fusion_types)
        if not fusion_types:
            raise ValueError(f'{name}: fusion_types=() must name at least one of '
                             "('channel_add', 'channel_mul')")
        for fusion in fusion_types:
            check_choice(name, 'fusion_types', fusion, ('channel_add', 'channel_mul'))
        planes = reduced_channels(name, in_channels, rd_ratio, rd_channels, rd_divisor)
        # mmcv sizes the bottleneck as int(in_channels * ratio): half a channel more
        # than `planes` gives exactly `planes` whatever the float rounding
        super().__init__(in_channels, (planes + 0.5) / in_channels, pooling_type, fusion_types)
        self.probe = AttentionProbe('spatial_softmax')

    def init_weights(self) -> None:
        self.reset_parameters()

    def spatial_pool(self, x: torch.Tensor) -> torch.Tensor:
        if self.pooling_type != 'att':
            return global_avg(x)
        n, c = x.shape[:2]
        mask = flatten_spatial(self.conv_mask(x))                     # N, 1, HW
        with torch.autocast(device_type=x.device.type, enabled=False):
            mask = self.probe(torch.softmax(mask.float(), dim=-1), spatial_size=tuple(x.shape[2:]))
        context = fp32_bmm(flatten_spatial(x), mask.transpose(1, 2))  # N, C, 1
        return context.to(x.dtype).reshape(n, c, 1, 1)
