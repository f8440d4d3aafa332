"""RoI features for export: each RoI pooled once, from its own pyramid level,
with the ONNX ``RoiAlign`` operator (as mmdet's ``SingleRoIExtractor``), and
the helpers that run a RoI head on the real detections only.

Each level's RoIs are picked with ``NonZero`` + ``Gather`` and the pooled
features put back in RoI order with ``ScatterND``, so the graph keeps dynamic
RoI counts (standard operators; an empty level pools nothing)."""
from typing import Tuple

import torch
import torch.nn as nn

from ..onnx_ops import roi_align


def fpn_levels(extractor: nn.Module, boxes: torch.Tensor) -> torch.Tensor:
    """mmdet's ``SingleRoIExtractor.map_roi_levels`` for (R, 4) boxes, over
    the extractor's levels."""
    num_levels = len(extractor.roi_layers)
    scale = torch.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    levels = torch.floor(torch.log2(scale / extractor.finest_scale + 1e-6))
    return levels.clamp(min=0, max=num_levels - 1).long()


def rows_where(mask: torch.Tensor) -> torch.Tensor:
    """The indices (V,) of the True entries of a 1-D ``mask``."""
    return torch.nonzero(mask).reshape(-1)


def scatter_rows(values: torch.Tensor, index: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A tensor of ``like.shape[0]`` rows, ``values`` at rows ``index``, zeros
    elsewhere."""
    out = values.new_zeros((like.shape[0],) + tuple(values.shape[1:]))
    out[index] = values
    return out


def pooled_features(extractor: nn.Module, feats, boxes: torch.Tensor, batch: torch.Tensor,
                    levels: torch.Tensor) -> torch.Tensor:
    """(R, C, S, S) features of ``boxes`` (R, 4) in input pixels of images
    ``batch`` (R,), each from its level in ``levels`` (R,), through the
    extractor's RoIAlign layers (output size, spatial scale, sampling ratio,
    ``aligned``)."""
    parts, order = [], []
    for i, layer in enumerate(extractor.roi_layers):
        size = layer.output_size
        index = rows_where(levels == i)
        parts.append(roi_align(feats[i], boxes[index], batch[index],
                               size[0] if isinstance(size, tuple) else size,
                               layer.spatial_scale, layer.sampling_ratio, layer.aligned))
        order.append(index)
    return scatter_rows(torch.cat(parts), torch.cat(order), levels)


def detection_rows(labels: torch.Tensor, boxes: torch.Tensor
                   ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The real detections of (N, K) ``labels`` (>= 0) and (N, K, 4)
    ``boxes``: their row indices in N * K, boxes (V, 4), images (V,) and
    labels (V,), so that a RoI head runs on them only."""
    n, k = labels.shape
    flat = labels.reshape(-1)
    index = rows_where(flat >= 0)
    images = torch.arange(n, device=labels.device)[:, None].expand(n, k).reshape(-1)
    return index, boxes.reshape(-1, 4)[index], images[index], flat[index]
