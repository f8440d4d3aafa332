"""Spatial-attention-guided mask head of CenterMask (Lee & Park, CVPR 2020),
as in ``youngwanLEE/centermask2: centermask/modeling/centermask/sam.py``
(``SpatialAttentionMaskHead``)."""
import torch
import torch.nn as nn
from mmdet.models.roi_heads.mask_heads import FCNMaskHead

from mmattn.registry import register
from ...layers.spatial_attention import SpatialAttentionModule


@register()
class SAGMaskHead(FCNMaskHead):
    """mmdet's ``FCNMaskHead`` with CenterMask's SAM between the convolutions
    and the upsampling: ``num_convs`` 3x3 convs (bias, ReLU, no norm) -> SAM ->
    2x2 stride-2 deconv -> ReLU -> 1x1 conv to class-specific logits.

    Defaults are the official ones: 4 convs of 256 channels on 14x14 RoI
    features, 28x28 logits, SAM kernel 3. Initialisation as the official
    code: convs and deconv MSRA-filled (Kaiming normal, fan-out, bias 0), the
    predictor N(0, 0.001) with bias 0 (mmdet's ``FCNMaskHead`` uses Kaiming
    for the predictor). ``forward(roi_feats)`` returns the mask logits.
    """

    def __init__(self, *args, sam_kernel_size: int = 3, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sam = SpatialAttentionModule(self.conv_out_channels, kernel_size=sam_kernel_size)

    def init_weights(self) -> None:
        super().init_weights()
        self.sam.init_weights()
        nn.init.normal_(self.conv_logits.weight, std=0.001)
        nn.init.constant_(self.conv_logits.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = conv(x)
        x = self.sam(x)
        if self.upsample is not None:
            x = self.upsample(x)
            if self.upsample_method == 'deconv':
                x = self.relu(x)
        return self.conv_logits(x)
