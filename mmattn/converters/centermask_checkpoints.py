"""Convert official centermask2 checkpoints (``{'model': state_dict}`` with
``backbone.bottom_up.*``, ``backbone.fpn_*``, ``backbone.top_block.*``,
``proposal_generator.fcos_head.*``, ``roi_heads.mask_head.*`` and
``roi_heads.maskiou_head.*``) into mmattn's ``CenterMask`` state dict."""
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple

import torch

from .vovnet_checkpoints import infer_spec

# detectron2 keeps the input normalisation in the model; mmdet's
# data_preprocessor holds it (the configs use the same values).
NORMALISATION_KEYS = ('pixel_mean', 'pixel_std')

_FIXED = {
    'backbone.top_block.p6': 'neck.fpn_convs.3.conv',  # P6 from P5's output
    'backbone.top_block.p7': 'neck.fpn_convs.4.conv',  # P7 from ReLU(P6)
    'proposal_generator.fcos_head.cls_logits': 'bbox_head.conv_cls',
    'proposal_generator.fcos_head.bbox_pred': 'bbox_head.conv_reg',
    'proposal_generator.fcos_head.ctrness': 'bbox_head.conv_centerness',
    'roi_heads.mask_head.spatialAtt.conv': 'roi_head.mask_head.sam.conv',
    'roi_heads.mask_head.deconv': 'roi_head.mask_head.upsample',
    'roi_heads.mask_head.predictor': 'roi_head.mask_head.conv_logits',
    'roi_heads.maskiou_head.maskiou_fc1': 'roi_head.mask_iou_head.fcs.0',
    'roi_heads.maskiou_head.maskiou_fc2': 'roi_head.mask_iou_head.fcs.1',
    'roi_heads.maskiou_head.maskiou': 'roi_head.mask_iou_head.fc_mask_iou',
}
_PATTERNS = [
    # detectron2 FPN: fpn_lateral{s} / fpn_output{s}, s = log2(stride) = 3, 4, 5
    (r'backbone\.fpn_lateral([3-5])', lambda m: f'neck.lateral_convs.{int(m[1]) - 3}.conv'),
    (r'backbone\.fpn_output([3-5])', lambda m: f'neck.fpn_convs.{int(m[1]) - 3}.conv'),
    # FCOS towers with GN: [conv, GroupNorm, ReLU] per layer
    (r'proposal_generator\.fcos_head\.(cls|bbox)_tower\.(\d+)', '_tower'),
    (r'proposal_generator\.fcos_head\.scales\.(\d+)', lambda m: f'bbox_head.scales.{m[1]}'),
    (r'roi_heads\.mask_head\.mask_fcn(\d+)',
     lambda m: f'roi_head.mask_head.convs.{int(m[1]) - 1}.conv'),
    (r'roi_heads\.maskiou_head\.maskiou_fcn(\d+)',
     lambda m: f'roi_head.mask_iou_head.convs.{int(m[1]) - 1}'),
]


def _tower(match) -> Optional[str]:
    branch = 'cls_convs' if match[1] == 'cls' else 'reg_convs'
    index = int(match[2])
    part = {0: 'conv', 1: 'gn'}.get(index % 3)
    return None if part is None else f'bbox_head.{branch}.{index // 3}.{part}'


def _module_name(module: str) -> Optional[str]:
    if module in _FIXED:
        return _FIXED[module]
    for pattern, target in _PATTERNS:
        match = re.fullmatch(pattern, module)
        if match:
            return _tower(match) if target == '_tower' else target(match)
    return None


def convert_centermask2(state: Dict[str, torch.Tensor]
                        ) -> Tuple[Dict[str, torch.Tensor], List[str], List[str]]:
    """Returns (converted weights, unknown keys, known keys not converted:
    the input normalisation)."""
    out, unknown, dropped = {}, [], []
    for key, value in state.items():
        if key.startswith('module.'):
            key = key[len('module.'):]
        if key in NORMALISATION_KEYS:
            dropped.append(key)
            continue
        if key.startswith('backbone.bottom_up.'):
            rest = key[len('backbone.bottom_up.'):]
            if re.match(r'^(stem|stage[2-5])\.', rest):
                out[f'backbone.{rest}'] = value
                continue
            unknown.append(key)
            continue
        module, _, param = key.rpartition('.')
        name = _module_name(module)
        if name is None:
            unknown.append(key)
        elif name.startswith('bbox_head.scales.'):
            out[f'{name}.{param}'] = value.reshape(())  # AdelaiDet: shape (1,); mmcv: scalar
        else:
            out[f'{name}.{param}'] = value
    return out, unknown, dropped


def matching_config(state: Dict[str, torch.Tensor], repo: str) -> Tuple[str, str]:
    """The config in ``configs/centermask/`` for a converted checkpoint,
    from its VoVNet spec and FPN width; (path, arch). Raises ValueError when
    none of the five fits."""
    backbone = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    arch, _ = infer_spec(backbone)
    width = state['neck.fpn_convs.0.conv.weight'].shape[0] \
        if 'neck.fpn_convs.0.conv.weight' in state else None
    name = {('V-39-eSE', 256): 'centermask_vovnet39_fpn_ms-3x_coco.py',
            ('V-57-eSE', 256): 'centermask_vovnet57_fpn_ms-3x_coco.py',
            ('V-99-eSE', 256): 'centermask_vovnet99_fpn_ms-3x_coco.py',
            ('V-19-eSE', 128): 'centermask-lite_vovnet19_fpn_4x_coco.py',
            ('V-39-eSE', 128): 'centermask-lite_vovnet39_fpn_4x_coco.py'}.get((arch, width))
    if name is None:
        raise ValueError(f'no config in configs/centermask/ has a {arch} backbone with a '
                         f'{width}-channel FPN; give one with --config')
    return osp.join(repo, 'configs', 'centermask', name), arch
