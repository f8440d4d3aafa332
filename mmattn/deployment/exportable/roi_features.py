"""RoI features for export: every RoI pooled from its pyramid level with the
ONNX ``RoiAlign`` operator, for a batch of images with a fixed number of RoIs
each. As mmdet's ``SingleRoIExtractor``, which pools each level's RoIs only,
this pools all RoIs on every level and keeps each RoI's own level (the same
result; RoIAlign costs the number of levels times more)."""
import torch
import torch.nn as nn

from ..onnx_ops import roi_align


def fpn_levels(extractor: nn.Module, boxes: torch.Tensor, num_levels: int) -> torch.Tensor:
    """mmdet's ``SingleRoIExtractor.map_roi_levels`` for (R, 4) boxes."""
    scale = torch.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    levels = torch.floor(torch.log2(scale / extractor.finest_scale + 1e-6))
    return levels.clamp(min=0, max=num_levels - 1).long()


def pooled_features(extractor: nn.Module, feats, boxes: torch.Tensor,
                    levels: torch.Tensor) -> torch.Tensor:
    """(N * K, C, S, S) features of ``boxes`` (N, K, 4) in input pixels, each
    from its level in ``levels`` (N * K,), through the extractor's RoIAlign
    layers (output size, spatial scale, sampling ratio, ``aligned``)."""
    n, k = boxes.shape[:2]
    flat = boxes.reshape(n * k, 4)
    batch = torch.arange(n, device=boxes.device)[:, None].expand(n, k).reshape(n * k)
    out = None
    for i, layer in enumerate(extractor.roi_layers):
        size = layer.output_size
        pooled = roi_align(feats[i], flat, batch, size[0] if isinstance(size, tuple) else size,
                           layer.spatial_scale, layer.sampling_ratio, layer.aligned)
        chosen = (levels == i).to(pooled.dtype)[:, None, None, None]
        out = pooled * chosen if out is None else out + pooled * chosen
    return out
