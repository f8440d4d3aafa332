"""Record the attention maps of a model's blocks during a forward pass."""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mmattn.models.layers.attention_probe import AttentionProbe
from mmattn.models.layers.factory import ATTENTION_BLOCKS

_SHORT_NAMES = {cls.__name__: name for name, cls in ATTENTION_BLOCKS.items()}
QueryPoint = Tuple[float, float]  # (y, x) as fractions of the model's (padded) input


@dataclass
class AttentionRecord:
    """The maps one probe saw: ``maps[i]`` is call i (criss-cross attention
    calls its probe once per recurrence), detached, float32, on the CPU.

    Pairwise kinds are reduced on the fly to the key maps of the recorder's
    query points: ``pairwise`` and ``criss_cross`` become (N, Q, Hk, Wk) and
    ``spatial_softmax`` becomes (N, 1, H, W); ``query_cells`` holds each query's
    (row, column) on the map. Other kinds keep the probe's layout.
    """
    block: str                 # module path of the block, e.g. 'backbone.layer3.0.conv2'
    block_type: str            # its class name
    probe: str                 # the probe's name inside the block
    kind: str
    stage: Optional[int]       # 1-based backbone stage, None outside the backbone
    maps: List[torch.Tensor] = field(default_factory=list)
    query_cells: List[Tuple[int, int]] = field(default_factory=list)


def backbone_stage_names(model: nn.Module) -> List[str]:
    """Names of the backbone's stages in order: ResNet-style ``res_layers``
    (EPSANet too) or VoVNet's ``stage_names``."""
    backbone = getattr(model, 'backbone', model)
    for attr in ('res_layers', 'stage_names'):
        names = getattr(backbone, attr, None)
        if names:
            return list(names)
    return []


def _stage_of(path: str, has_backbone: bool, stage_names: List[str]) -> Optional[int]:
    parts = path.split('.')
    if has_backbone:
        if parts[0] != 'backbone':
            return None
        parts = parts[1:]
    return stage_names.index(parts[0]) + 1 if parts and parts[0] in stage_names else None


def _query_cell(point: QueryPoint, size: Sequence[int]) -> Tuple[int, int]:
    h, w = int(size[0]), int(size[1])
    return min(int(point[0] * h), h - 1), min(int(point[1] * w), w - 1)


class AttentionRecorder:
    """Forward hooks on every ``AttentionProbe`` of ``model`` whose block
    passes the filters; use as a context manager around a forward pass.

    Args:
        model: a detector (its ``backbone`` gives the stage numbers) or a
            backbone.
        blocks: keep a block if any of these strings (case-insensitive) is in
            its module path, or equals its class name or factory name
            (``cbam``, ``psa``...). None keeps all.
        stages: keep only backbone blocks of these 1-based stages.
        query_points: (y, x) fractions of the model's input for which the
            key maps of pairwise attention are kept (default: the centre).
    """

    def __init__(self, model: nn.Module, blocks: Optional[Sequence[str]] = None,
                 stages: Optional[Sequence[int]] = None,
                 query_points: Sequence[QueryPoint] = ((0.5, 0.5),)) -> None:
        self.model = model
        self.filters = [b.lower() for b in blocks] if blocks else None
        self.stages = set(stages) if stages else None
        self.query_points = [tuple(map(float, p)) for p in query_points]
        if not self.query_points:
            raise ValueError('AttentionRecorder: query_points=() must hold at least one (y, x)')
        for point in self.query_points:
            if len(point) != 2 or not all(0 <= v <= 1 for v in point):
                raise ValueError(f'AttentionRecorder: query point {point} must be (y, x) '
                                 'fractions in [0, 1]')
        self.records: Dict[str, AttentionRecord] = {}
        self._handles: list = []

    def _selected(self, path: str, block: nn.Module, stage: Optional[int]) -> bool:
        if self.stages is not None and stage not in self.stages:
            return False
        if self.filters is None:
            return True
        cls = type(block).__name__
        names = {cls.lower(), _SHORT_NAMES.get(cls, '').lower()}
        return any(f in path.lower() or f in names for f in self.filters)

    def probes(self) -> List[Tuple[str, str, nn.Module, AttentionProbe, Optional[int]]]:
        """(block path, probe name, block, probe, stage) of the selected probes."""
        stage_names = backbone_stage_names(self.model)
        has_backbone = hasattr(self.model, 'backbone')
        modules = dict(self.model.named_modules())
        found = []
        for path, module in modules.items():
            if not isinstance(module, AttentionProbe):
                continue
            block_path, _, probe_name = path.rpartition('.')
            block = modules[block_path]
            stage = _stage_of(block_path, has_backbone, stage_names)
            if self._selected(block_path, block, stage):
                found.append((block_path, probe_name, block, module, stage))
        return found

    def _reduce(self, record: AttentionRecord, attention: torch.Tensor, layout: dict):
        if record.kind == 'pairwise':
            qh, qw = layout['query_size']
            kh, kw = layout['key_size']
            cells = [_query_cell(p, (qh, qw)) for p in self.query_points]
            rows = torch.tensor([r * qw + c for r, c in cells], device=attention.device)
            record.query_cells = cells
            return attention.index_select(1, rows).reshape(attention.shape[0], len(cells), kh, kw)
        if record.kind == 'criss_cross':
            n, h, w = attention.shape[:3]
            cells = [_query_cell(p, (h, w)) for p in self.query_points]
            maps = attention.new_zeros(n, len(cells), h, w)
            for q, (r, c) in enumerate(cells):
                maps[:, q, :, c] = attention[:, r, c, :h]    # its column (centre masked to 0)
                maps[:, q, r, :] += attention[:, r, c, h:]   # its row (centre included)
            record.query_cells = cells
            return maps
        if record.kind == 'spatial_softmax':
            h, w = layout['spatial_size']
            return attention.reshape(attention.shape[0], 1, h, w)
        return attention

    def __enter__(self) -> 'AttentionRecorder':
        self.records = {}
        for block_path, probe_name, block, probe, stage in self.probes():
            record = AttentionRecord(block_path, type(block).__name__, probe_name, probe.kind,
                                     stage)
            self.records[f'{block_path}.{probe_name}'] = record

            def hook(module, args, kwargs, output, record=record):
                reduced = self._reduce(record, output.detach(), kwargs)
                record.maps.append(reduced.float().cpu())

            self._handles.append(probe.register_forward_hook(hook, with_kwargs=True))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def stage_label(record: AttentionRecord) -> str:
    return 'outside the backbone' if record.stage is None else f'stage {record.stage}'


def natural_key(text: str):
    """Sort 'layer10' after 'layer9'."""
    return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', text)]
