"""Frozen batch norm: fixed affine transform from BN statistics, as
detectron2's ``FrozenBatchNorm2d`` (what CenterMask's weights are trained with)."""
import torch
import torch.nn as nn

from mmattn.registry import register


# mmdet 3.3 registers the same transform as 'FrozenBN' in its own scope, where
# that one is used; ours serves every other scope and scripts with no scope.
@register(name='FrozenBN', root=True, same_as_in=('mmdet', ))
class FrozenBatchNorm2d(nn.Module):
    """``y = (x - running_mean) / sqrt(running_var + eps) * weight + bias`` with
    all four held as buffers (never trained, never updated). Use it as
    ``norm_cfg=dict(type='FrozenBN')`` to fine-tune from detectron2 weights.
    Loads BN state dicts too (``num_batches_tracked`` is ignored)."""

    _abbr_ = 'bn'

    def __init__(self, num_features: int, eps: float = 1e-5, **kwargs) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.register_buffer('weight', torch.ones(num_features))
        self.register_buffer('bias', torch.zeros(num_features))
        self.register_buffer('running_mean', torch.zeros(num_features))
        self.register_buffer('running_var', torch.ones(num_features) - eps)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs) -> None:
        state_dict.pop(prefix + 'num_batches_tracked', None)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale.reshape(1, -1, 1, 1).to(x.dtype) + shift.reshape(1, -1, 1, 1).to(x.dtype)

    def extra_repr(self) -> str:
        return f'{self.num_features}, eps={self.eps}'
