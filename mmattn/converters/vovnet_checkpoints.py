"""Convert VoVNet checkpoints from the official detectron2 releases and from
timm into mmattn's ``VoVNet`` state dict (whose names are the official ones).

Nothing is dropped silently: keys that are not part of the backbone are
returned as leftovers for the caller to report, and the result is checked
against a model built with the inferred spec.
"""
import re
from typing import Dict, List, Optional, Tuple

import torch

DETECTRON2_PREFIXES = ('backbone.bottom_up.', 'module.backbone.bottom_up.', 'backbone.', 'module.')


def _backbone_key(key: str) -> Optional[str]:
    for prefix in DETECTRON2_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    return key if re.match(r'^(stem|stage[2-5])\.', key) else None


def convert_detectron2(state: Dict[str, torch.Tensor]
                       ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Official names are kept; prefixes are stripped; non-backbone keys
    (FPN, heads, ``__author__``...) are returned as leftovers."""
    out, leftovers = {}, []
    for key, value in state.items():
        name = _backbone_key(key)
        if name is None:
            leftovers.append(key)
        else:
            out[name] = value
    return out, leftovers


_TIMM_NORM = {'conv': 'conv', 'bn': 'norm'}
_TIMM_DW = {'conv_dw': 'dw_conv3x3', 'conv_pw': 'pw_conv1x1', 'bn': 'pw_norm'}


def _timm_conv(rest: str, separable: bool) -> Optional[str]:
    part, _, param = rest.partition('.')
    table = _TIMM_DW if separable else _TIMM_NORM
    return f'{table[part]}.{param}' if part in table else None


def convert_timm(state: Dict[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """timm ``ese_vovnet*`` names -> official names (the classifier is a leftover)."""
    separable = any('.conv_dw.' in k for k in state)
    out, leftovers = {}, []
    for key, value in state.items():
        name = None
        m = re.match(r'^stem\.(\d)\.(.+)$', key)
        if m:
            j = int(m.group(1))
            conv = _timm_conv(m.group(2), separable and j > 0)
            name = conv and f'stem.stem_{j + 1}/{conv}'
        m = re.match(r'^stages\.(\d)\.blocks\.(\d+)\.(.+)$', key)
        if m:
            stage, block, rest = int(m.group(1)) + 2, int(m.group(2)) + 1, m.group(3)
            osa = f'OSA{stage}_{block}'
            prefix = f'stage{stage}.{osa}'
            mm = re.match(r'^conv_mid\.(\d+)\.(.+)$', rest)
            if mm:
                conv = _timm_conv(mm.group(2), separable)
                name = conv and f'{prefix}.layers.{mm.group(1)}.{osa}_{mm.group(1)}/{conv}'
            elif rest.startswith('conv_reduction.'):
                conv = _timm_conv(rest[len('conv_reduction.'):], False)
                name = conv and f'{prefix}.conv_reduction.{osa}_reduction_0/{conv}'
            elif rest.startswith('conv_concat.'):
                conv = _timm_conv(rest[len('conv_concat.'):], False)
                name = conv and f'{prefix}.concat.{osa}_concat/{conv}'
            elif rest.startswith('attn.fc.'):
                name = f'{prefix}.ese.fc.{rest[len("attn.fc."):]}'
        if name is None:
            leftovers.append(key)
        else:
            out[name] = value
    return out, leftovers


def _comparable(keys) -> set:
    return {k for k in keys if not k.endswith('num_batches_tracked')}


def infer_spec(state: Dict[str, torch.Tensor]) -> Tuple[str, str]:
    """The (arch, ese_position) whose VoVNet has exactly these parameter names
    and shapes; ValueError naming the closest spec's differences otherwise."""
    from mmattn.models.backbones.vovnet import ARCH_SETTINGS, VoVNet
    keys = _comparable(state)
    best = None
    for arch in ARCH_SETTINGS:
        for position in ('every', 'last'):
            ref = VoVNet(arch, ese_position=position).state_dict()
            ref_keys = _comparable(ref)
            missing, unexpected = ref_keys - keys, keys - ref_keys
            if not missing and not unexpected:
                bad = [k for k in keys if tuple(state[k].shape) != tuple(ref[k].shape)]
                if not bad:
                    return arch, position
                missing = set(bad)
            score = len(missing) + len(unexpected)
            if best is None or score < best[0]:
                best = (score, arch, position, sorted(missing), sorted(unexpected))
    _, arch, position, missing, unexpected = best
    raise ValueError(f'no VoVNet spec matches this checkpoint; closest is {arch} '
                     f'(ese_position={position!r}) with {len(missing)} missing or mis-shaped '
                     f'keys {missing[:5]} and {len(unexpected)} unexpected keys {unexpected[:5]}')
