"""Draw recorded attention maps (``AttentionRecorder``) as PNG files.

Gates (values in [0, 1]) are drawn on a fixed 0-1 colour range with a colour
bar, so a weak gate looks weak: mmengine's ``Visualizer.draw_featmap``
min-max normalises every map, which would hide that, so these pictures use
matplotlib directly. Softmax attention (non-local, PAM, criss-cross, GC),
whose weights sum to 1 over the keys, is drawn on 0..max with the max written
in the title.
"""
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .attention_recorder import AttentionRecord, natural_key, stage_label

Size = Tuple[int, int]


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _finish(fig, out_file: str) -> str:
    fig.tight_layout()
    fig.savefig(out_file, dpi=80)
    _pyplot().close(fig)
    return out_file


def map_on_image(attention: torch.Tensor, img_shape: Size, input_shape: Size,
                 out_shape: Size) -> np.ndarray:
    """A 2-D map over the model's (padded) input, cropped to the part that
    holds the image (``img_shape`` of ``input_shape``, top-left, as mmdet pads)
    and resized bilinearly to ``out_shape`` (H, W) of the original image."""
    if attention.dim() != 2:
        raise ValueError(f'map_on_image: expected a 2-D map, got shape {tuple(attention.shape)}')
    h, w = attention.shape
    rows = max(1, min(h, int(np.ceil(h * img_shape[0] / input_shape[0]))))
    cols = max(1, min(w, int(np.ceil(w * img_shape[1] / input_shape[1]))))
    cropped = attention[:rows, :cols].float()[None, None]
    resized = F.interpolate(cropped, size=tuple(int(s) for s in out_shape), mode='bilinear',
                            align_corners=False)
    return resized[0, 0].numpy()


def maps_in_boxes(maps: torch.Tensor, boxes: np.ndarray, out_shape: Size) -> np.ndarray:
    """Per-RoI maps (n, h, w) resized into their boxes (n, 4: x1, y1, x2, y2
    in the image's pixels) on an ``out_shape`` canvas, NaN elsewhere (drawn
    transparent); later boxes are drawn over earlier ones."""
    canvas = np.full(tuple(out_shape), np.nan, dtype=np.float32)
    height, width = out_shape
    for roi_map, box in zip(maps, boxes):
        x1, y1 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
        x2, y2 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
        if x2 <= x1 or y2 <= y1:
            continue
        resized = F.interpolate(roi_map.float()[None, None], size=(y2 - y1, x2 - x1),
                                mode='bilinear', align_corners=False)[0, 0]
        canvas[y1:y2, x1:x2] = resized.numpy()
    return canvas


def _file_name(index: int, record_or_name, suffix: str = '') -> str:
    name = record_or_name if isinstance(record_or_name, str) else record_or_name.block
    name = name.replace('backbone.', '', 1).replace('.', '_')
    return f'{index:03d}_{name}{suffix}.png'


def _per_roi(record: AttentionRecord) -> bool:
    """Maps of a RoI head: one per RoI, not per image."""
    return record.block.startswith('roi_head.')


def _gate_name(record: AttentionRecord) -> str:
    part = record.probe.replace('_probe', '')
    return 'gate' if part == 'probe' else f'{part} gate'


def _label(record: AttentionRecord) -> str:
    name = record.block.replace('backbone.', '', 1)
    return name if record.probe == 'probe' else f'{name} ({record.probe.replace("_probe", "")})'


def _overlay(image: np.ndarray, panels: List[Tuple[str, np.ndarray, float]], title: str,
             out_file: str, alpha: float,
             marks: Optional[List[Tuple[float, float]]] = None) -> str:
    """One row of panels: ``image`` (H, W, 3 RGB uint8) under each map (H, W),
    colour range 0..vmax, a colour bar each; ``marks`` (x, y) pixels."""
    plt = _pyplot()
    h, w = image.shape[:2]
    width = 3.2 * w / max(h, w) + 0.9
    fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), 3.4), squeeze=False)
    for ax, (caption, values, vmax) in zip(axes[0], panels):
        ax.imshow(image)
        shown = ax.imshow(values, cmap='jet', alpha=alpha, vmin=0.0, vmax=vmax)
        if marks:
            xs, ys = zip(*marks)
            ax.scatter(xs, ys, marker='x', c='white', s=60, linewidths=2)
        ax.set_title(caption, fontsize=8)
        ax.axis('off')
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.03)
    fig.suptitle(title, fontsize=9)
    return _finish(fig, out_file)


def _strips(rows: List[Tuple[str, np.ndarray]], title: str, out_file: str,
            row_labels_per_entry: Optional[List[List[str]]] = None) -> str:
    """Rows of values in [0, 1] (one row, or several, per entry) as an image on a
    fixed 0-1 range, next to a histogram of all values."""
    plt = _pyplot()
    width = max(v.shape[-1] for _, v in rows)
    lines, labels = [], []
    for i, (label, values) in enumerate(rows):
        values = np.atleast_2d(values)
        padded = np.full((values.shape[0], width), np.nan)
        padded[:, :values.shape[1]] = values
        lines.append(padded)
        sub = row_labels_per_entry[i] if row_labels_per_entry else [''] * values.shape[0]
        labels += [f'{label} {s}'.strip() if j == 0 else s for j, s in enumerate(sub)]
    grid = np.concatenate(lines, axis=0)
    fig, (ax, hist) = plt.subplots(1, 2, figsize=(11, max(2.4, 1.2 + 0.28 * len(grid))),
                                   gridspec_kw=dict(width_ratios=[4, 1]))
    shown = ax.imshow(grid, aspect='auto', cmap='viridis', vmin=0.0, vmax=1.0,
                      interpolation='nearest')
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=6)
    ax.set_xlabel('channel', fontsize=8)
    fig.colorbar(shown, ax=ax, fraction=0.03, pad=0.01)
    values = grid[~np.isnan(grid)]
    hist.hist(values, bins=20, range=(0, 1), color='tab:blue')
    hist.set_xlabel('weight', fontsize=8)
    hist.set_title(f'mean {values.mean():.3f}', fontsize=8)
    fig.suptitle(title, fontsize=9)
    return _finish(fig, out_file)


def _matrix(values: np.ndarray, title: str, out_file: str) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 4))
    shown = ax.imshow(values, cmap='viridis', vmin=0.0, vmax=float(values.max()))
    ax.set_xlabel('key channel', fontsize=8)
    ax.set_ylabel('query channel', fontsize=8)
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.03)
    ax.set_title(title, fontsize=8)
    return _finish(fig, out_file)


def branch_labels(record: AttentionRecord, count: int, block=None) -> List[str]:
    kernels = getattr(block, 'kernels', None)
    if kernels is not None and len(kernels) == count:
        groups = getattr(block, 'groups', (None,) * count)
        return [f'{k}x{k} g{g}' if g else f'{k}x{k}' for k, g in zip(kernels, groups)]
    if record.block_type == 'SelectiveKernel':
        return [f'3x3 dil{i + 1}' for i in range(count)]
    return [f'branch {i}' for i in range(count)]


def _slug(text: str) -> str:
    return text.replace(' ', '').replace(',', '_')


def _grouped(rows_by_stage: Dict[str, list], max_rows: int = 16) -> List[Tuple[str, list]]:
    """One picture for all stages when they fit in ``max_rows`` rows (counting
    a branch entry's rows), else one per stage; rows in model order."""
    stages = sorted(rows_by_stage, key=natural_key)
    for stage in stages:
        rows_by_stage[stage].sort(key=lambda r: natural_key(r[0]))

    def height(row) -> int:
        return int(np.atleast_2d(row[1]).shape[0])
    total = sum(height(r) for stage in stages for r in rows_by_stage[stage])
    if len(stages) > 1 and total <= max_rows:
        return [('all stages', [r for stage in stages for r in rows_by_stage[stage]])]
    return [(stage, rows_by_stage[stage]) for stage in stages]


class _Pictures:
    """What drawing one model's records needs, and what it has drawn: the
    overlay panels of the block at hand, and the rows of the per-stage gate
    strips (drawn last)."""

    def __init__(self, image: np.ndarray, img_shape: Size, input_shape: Size, out_dir: str,
                 marks: list, blocks: Dict[str, object],
                 detections: Optional[Tuple[np.ndarray, np.ndarray]],
                 max_detections: int) -> None:
        self.image, self.img_shape, self.input_shape = image, img_shape, input_shape
        self.out_dir, self.marks, self.blocks = out_dir, marks, blocks
        self.detections, self.max_detections = detections, max_detections
        self.written: List[str] = []
        self.index = 0
        self.channel_rows: Dict[str, List[Tuple[str, np.ndarray]]] = OrderedDict()
        self.branch_rows: Dict[str, list] = OrderedDict()
        self.panels: List[Tuple[str, np.ndarray, float]] = []
        self.pair_marks = None

    def on_image(self, t: torch.Tensor) -> np.ndarray:
        return map_on_image(t, self.img_shape, self.input_shape, self.image.shape[:2])

    def next_file(self, first: AttentionRecord, suffix: str = '') -> str:
        path = osp.join(self.out_dir, _file_name(self.index, first, suffix))
        self.index += 1
        return path


# One drawing function per kind of map: (pictures, the record, the block's
# records by kind, the block's title). Kinds not listed (``width``: drawn with
# ``height``) add nothing on their own.
def _draw_channel(pictures: _Pictures, record: AttentionRecord, kinds: dict, title: str) -> None:
    pictures.channel_rows.setdefault(stage_label(record), []).append(
        (_label(record), record.maps[-1][0].flatten().numpy()))


def _draw_branch(pictures: _Pictures, record: AttentionRecord, kinds: dict, title: str) -> None:
    last = record.maps[-1][0]
    matrix = last.reshape(last.shape[0], -1).numpy()
    pictures.branch_rows.setdefault(stage_label(record), []).append(
        (_label(record), matrix,
         branch_labels(record, matrix.shape[0], pictures.blocks.get(record.block))))


def _draw_spatial(pictures: _Pictures, record: AttentionRecord, kinds: dict, title: str) -> None:
    if not _per_roi(record):
        pictures.panels.append((_gate_name(record), pictures.on_image(record.maps[-1][0][0]),
                                1.0))
        return
    detections = pictures.detections
    if detections is None or record.maps[-1].shape[0] != len(detections[0]):
        return  # RoI-level maps without their boxes: nothing to place
    boxes, scores = detections
    best = np.argsort(-scores, kind='stable')[:pictures.max_detections][::-1]  # best on top
    canvas = maps_in_boxes(record.maps[-1][best.copy(), 0], boxes[best],
                           pictures.image.shape[:2])
    pictures.panels.append((f'{_gate_name(record)} in the {len(best)} best detections', canvas,
                            1.0))


def _draw_height(pictures: _Pictures, record: AttentionRecord, kinds: dict, title: str) -> None:
    if 'width' in kinds:
        gate = (record.maps[-1][0] * kinds['width'].maps[-1][0]).mean(dim=0)  # mean of a_h*a_w
        pictures.panels.append(('mean over channels of a_h * a_w', pictures.on_image(gate), 1.0))


def _draw_pairwise(pictures: _Pictures, record: AttentionRecord, kinds: dict,
                   title: str) -> None:
    for call, maps in enumerate(record.maps):
        keys = maps.shape[2] * maps.shape[3]
        if record.kind == 'criss_cross':
            keys = maps.shape[2] + maps.shape[3] - 1
        for q in range(maps.shape[1]):
            vmax = float(maps[0, q].max()) or 1.0
            pass_name = f'pass {call + 1}, ' if len(record.maps) > 1 else ''
            pictures.panels.append((f'{pass_name}query {q + 1}: max {vmax:.3g} '
                                    f'(uniform {1 / keys:.3g})', pictures.on_image(maps[0, q]),
                                    vmax))
    pictures.pair_marks = pictures.marks


def _draw_context(pictures: _Pictures, record: AttentionRecord, kinds: dict, title: str) -> None:
    last = record.maps[-1][0]
    vmax = float(last[0].max()) or 1.0
    uniform = 1 / last[0].numel()
    pictures.panels.append((f'context weights: max {vmax:.3g} (uniform {uniform:.3g})',
                            pictures.on_image(last[0]), vmax))


def _draw_channel_pairwise(pictures: _Pictures, record: AttentionRecord, kinds: dict,
                           title: str) -> None:
    pictures.written.append(_matrix(record.maps[-1][0].numpy(),
                                    f'{title}\nchannel attention (rows sum to 1)',
                                    pictures.next_file(record, '_channels')))


DRAW_BY_KIND = {
    'channel': _draw_channel,
    'branch': _draw_branch,
    'spatial': _draw_spatial,
    'height': _draw_height,
    'pairwise': _draw_pairwise,
    'criss_cross': _draw_pairwise,
    'spatial_softmax': _draw_context,
    'channel_pairwise': _draw_channel_pairwise,
}


def write_attention_pictures(records: Dict[str, AttentionRecord], image: np.ndarray,
                             img_shape: Size, input_shape: Size, out_dir: str,
                             query_points: Sequence[Tuple[float, float]] = ((0.5, 0.5),),
                             blocks: Optional[Dict[str, object]] = None,
                             alpha: float = 0.5,
                             detections: Optional[Tuple[np.ndarray, np.ndarray]] = None,
                             max_detections: int = 5) -> List[str]:
    """Write one PNG per spatial/pairwise block and one per stage for channel
    and branch gates into ``out_dir``; returns the paths in model order.

    ``image`` is the original image (H, W, 3 RGB); ``img_shape`` the resized
    unpadded size inside the model's input of ``input_shape`` (both H, W);
    ``query_points`` the recorder's (y, x) fractions of the input, marked on
    pairwise maps; ``blocks`` maps block paths to modules (branch labels).
    ``detections`` (boxes in the original image, scores), in the order of
    the RoIs, place RoI-level gates (CenterMask's SAM in the SAG-Mask head)
    in their boxes; the ``max_detections`` best are drawn. Each kind of map is
    drawn by its function in ``DRAW_BY_KIND``.
    """
    os.makedirs(out_dir, exist_ok=True)
    out_hw = image.shape[:2]
    marks = [(x * input_shape[1] / img_shape[1] * out_hw[1],
              y * input_shape[0] / img_shape[0] * out_hw[0]) for y, x in query_points]
    pictures = _Pictures(image, img_shape, input_shape, out_dir, marks, blocks or {},
                         detections, max_detections)
    by_block: Dict[str, List[AttentionRecord]] = OrderedDict()
    for record in records.values():
        if record.maps:
            by_block.setdefault(record.block, []).append(record)
    for block_path, block_records in by_block.items():
        kinds = {r.kind: r for r in block_records}
        first = block_records[0]
        title = f'{first.block_type}\n{block_path} ({stage_label(first)})'
        pictures.panels, pictures.pair_marks = [], None
        for record in block_records:
            draw = DRAW_BY_KIND.get(record.kind)
            if draw is not None:
                draw(pictures, record, kinds, title)
        if pictures.panels:
            pictures.written.append(_overlay(image, pictures.panels, title,
                                             pictures.next_file(first), alpha,
                                             pictures.pair_marks))
    for group, rows in _grouped(pictures.channel_rows):
        pictures.written.append(_strips(rows, f'channel gates, {group} (fixed range 0-1)',
                                        pictures.next_file('channel_gates_' + _slug(group))))
    for group, rows in _grouped(pictures.branch_rows):
        pictures.written.append(_strips([(label, m) for label, m, _ in rows],
                                        f'branch weights (softmax over kernels), {group}',
                                        pictures.next_file('branch_weights_' + _slug(group)),
                                        [labels for _, _, labels in rows]))
    return pictures.written
