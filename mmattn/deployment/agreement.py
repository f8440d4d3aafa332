"""Detection-by-detection agreement of two predictors (PyTorch and an
exported file): every reference detection scoring at least ``min_score`` is
paired with the candidate detection of the same label that overlaps it most,
and the pair's box IoU, score difference, mask IoU and mask-score difference
are kept. ``Agreement`` sums them over images."""
from dataclasses import dataclass, field
from typing import List

import torch
from mmengine.structures import InstanceData

# The bar a pair must clear (#24): box IoU, |score diff|, mask IoU, |mask score diff|
MIN_BOX_IOU, MAX_SCORE_DIFF, MIN_MASK_IOU = 0.99, 1e-3, 0.98


@dataclass
class Agreement:
    detections: int = 0
    images: int = 0
    box_ious: List[float] = field(default_factory=list)
    score_diffs: List[float] = field(default_factory=list)
    mask_ious: List[float] = field(default_factory=list)
    mask_score_diffs: List[float] = field(default_factory=list)

    def add(self, reference: InstanceData, candidate: InstanceData,
            min_score: float = 0.3) -> None:
        """Pair the reference detections of one image with the candidate's."""
        from mmdet.structures.bbox import bbox_overlaps
        self.images += 1
        keep = reference.scores >= min_score
        count = int(keep.sum())
        if count == 0:
            return
        self.detections += count
        if len(candidate) == 0:  # every one missed (lists stay aligned, pair by pair)
            self.box_ious += [0.0] * count
            self.score_diffs += [1.0] * count
            if 'masks' in reference:
                self.mask_ious += [0.0] * count
            if 'mask_scores' in reference:
                self.mask_score_diffs += [1.0] * count
            return
        ious = bbox_overlaps(reference.bboxes[keep], candidate.bboxes)
        ious = ious * (reference.labels[keep][:, None] == candidate.labels[None]).to(ious.dtype)
        best, index = ious.max(1)
        self.box_ious += best.tolist()
        self.score_diffs += (reference.scores[keep] - candidate.scores[index]).abs().tolist()
        if 'masks' in reference and 'masks' in candidate:
            a = reference.masks[keep].flatten(1)
            b = candidate.masks[index].flatten(1)
            union = (a | b).sum(1).float()
            inter = (a & b).sum(1).float()
            self.mask_ious += torch.where(union > 0, inter / union.clamp(min=1), 1.0).tolist()
        if 'mask_scores' in reference and 'mask_scores' in candidate:
            diff = (reference.mask_scores[keep] - candidate.mask_scores[index]).abs()
            self.mask_score_diffs += diff.tolist()

    @property
    def failures(self) -> int:
        """Reference detections whose pair misses the bar."""
        bad = [iou < MIN_BOX_IOU or diff > MAX_SCORE_DIFF
               for iou, diff in zip(self.box_ious, self.score_diffs)]
        for i, iou in enumerate(self.mask_ious):
            bad[i] = bad[i] or iou < MIN_MASK_IOU
        for i, diff in enumerate(self.mask_score_diffs):
            bad[i] = bad[i] or diff > MAX_SCORE_DIFF
        return sum(bad)

    def summary(self, min_score: float = 0.3) -> str:
        def worst(values, high):
            return 'n/a' if not values else f'{(max if high else min)(values):.4g}'
        line = (f'{self.detections} reference detections scoring >= {min_score} on {self.images} '
                f'images; worst box IoU {worst(self.box_ious, False)}, worst |score difference| '
                f'{worst(self.score_diffs, True)}')
        if self.mask_ious:
            line += f', worst mask IoU {worst(self.mask_ious, False)}'
        if self.mask_score_diffs:
            line += f', worst |mask score difference| {worst(self.mask_score_diffs, True)}'
        return line + (f'; {self.failures} miss the bar (box IoU >= {MIN_BOX_IOU}, |score '
                       f'difference| <= {MAX_SCORE_DIFF}, mask IoU >= {MIN_MASK_IOU})')
