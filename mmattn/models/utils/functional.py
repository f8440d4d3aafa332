"""Tensor functions shared by the attention blocks, written to be exportable
and precision-safe (no adaptive pooling sizes, float32 energies)."""
import torch
import torch.nn.functional as F


def global_avg(x: torch.Tensor) -> torch.Tensor:
    """Mean over H and W, kept as (N, C, 1, 1). Plain ``mean`` rather than
    adaptive pooling: exportable, deterministic on CUDA, any H x W."""
    return x.mean(dim=(2, 3), keepdim=True)


def global_max(x: torch.Tensor) -> torch.Tensor:
    return x.amax(dim=(2, 3), keepdim=True)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """relu6(x + 3) / 6, the hard sigmoid of MobileNetV3 and CenterMask's eSE."""
    return F.relu6(x + 3.0) / 6.0


def hard_swish(x: torch.Tensor) -> torch.Tensor:
    return x * hard_sigmoid(x)


def fp32_bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched matmul in float32 whatever the autocast state.

    Attention energies (HW x HW, C x C) overflow float16 easily; this keeps
    them, and the softmax that follows, in float32.
    """
    with torch.autocast(device_type=a.device.type, enabled=False):
        return torch.bmm(a.float(), b.float())


def flatten_spatial(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, H*W); works for channels_last inputs, and for
    an empty batch (no ``-1``, which 0 elements leave undetermined)."""
    return x.reshape(x.shape[0], x.shape[1], x.shape[2] * x.shape[3])


def check_feature_map(module: torch.nn.Module, x: torch.Tensor, channels) -> None:
    """Raise ValueError naming ``module`` unless ``x`` is (N, channels, H, W)
    (any channel count when ``channels`` is None)."""
    if x.dim() != 4 or (channels is not None and x.shape[1] != channels):
        expected = f'(N, {channels}, H, W)' if channels is not None else '(N, C, H, W)'
        raise ValueError(f'{type(module).__name__}: input of shape {tuple(x.shape)} is invalid; '
                         f'expected {expected}, as the block was built')
