"""The speed switches of mmattn's backbones, decided in one place per forward.

Three switches change how a backbone computes, never what (within float
rounding; the fp64 parity tests hold for every combination):

* ``with_cp``: recompute activations during backward instead of keeping them
  (``activation_checkpoint.py``: BatchNorm statistics updated once);
* ``fold_conv_bn``: at inference, each conv-BN pair runs as one convolution
  with folded weights (``conv_bn_folding.py``);
* ``channels_last``: compute in NHWC, return NCHW feature maps. Grouped and
  depthwise convolutions (PSA's branches, VoVNet's 3x3 chains) are much faster
  in NHWC on oneDNN and GPUs want it, but oneDNN's NHWC backward of dense 3x3
  convolutions is slow on AVX2 CPUs, so ``'auto'`` computes in NHWC except for
  a CPU training step (docs/benchmarks.md has the measurements).

``plan_forward`` turns the settings and the state of the call (training, grad
mode, device, tracing) into a ``ForwardPlan``; ``FastPathsMixin`` gives a
backbone the argument checks, the layout handling around its forward and the
cache reset on ``train()``; ``run_block`` checkpoints a block when planned.
"""
from typing import Callable, NamedTuple, Sequence, Tuple, Union

import torch
import torch.nn as nn

from .activation_checkpoint import checkpoint_keeping_norm_stats
from .arguments import check_choice
from .conv_bn_folding import drop_folded, set_folding

CHANNELS_LAST_CHOICES = (True, False, 'auto')


class ForwardPlan(NamedTuple):
    """How one forward runs. ``training_step``: the module trains with
    autograd on (what ``checkpoint`` and a CPU's layout choice depend on)."""

    training_step: bool
    checkpoint: bool
    fold: bool
    channels_last: bool


def _tracing() -> bool:
    return (torch.compiler.is_compiling() or torch.jit.is_tracing() or torch.jit.is_scripting()
            or torch.onnx.is_in_onnx_export())


def plan_forward(module: nn.Module, x: torch.Tensor, with_cp: bool = False,
                 fold: bool = True, channels_last: Union[bool, str] = False) -> ForwardPlan:
    """The plan for ``module``'s forward on ``x``:

    * checkpoint when ``with_cp`` and this is a training step;
    * fold conv-BN pairs when ``fold`` and autograd is off, outside
      ``torch.compile``, TorchScript and ONNX tracing (which see the plain
      modules); each pair is still checked (``conv_bn_folding.can_fold``);
    * NHWC for ``channels_last=True``, never for False, and for ``'auto'``
      unless this is a training step on a CPU.
    """
    training_step = module.training and torch.is_grad_enabled()
    if channels_last == 'auto':
        nhwc = not (training_step and x.device.type == 'cpu')
    else:
        nhwc = bool(channels_last)
    return ForwardPlan(training_step=training_step, checkpoint=with_cp and training_step,
                       fold=fold and not torch.is_grad_enabled() and not _tracing(),
                       channels_last=nhwc)


def run_block(module: nn.Module, forward: Callable[[torch.Tensor], torch.Tensor],
              x: torch.Tensor, plan: ForwardPlan) -> torch.Tensor:
    """``forward(x)``, checkpointed (BN statistics updated once) if planned."""
    if plan.checkpoint:
        return checkpoint_keeping_norm_stats(forward, x, module=module)
    return forward(x)


class FastPathsMixin:
    """For a backbone: ``init_fast_paths`` in ``__init__`` (after building its
    modules), ``forward_planned(x, plan)`` instead of ``forward``. Gives
    ``forward`` (the input to NHWC and the outputs back to NCHW when planned)
    and ``train`` (drops folded weights, which are for inference only)."""

    def init_fast_paths(self, with_cp: bool, channels_last: Union[bool, str],
                        fold_conv_bn: bool) -> None:
        name = type(self).__name__
        check_choice(name, 'channels_last', channels_last, CHANNELS_LAST_CHOICES)
        check_choice(name, 'fold_conv_bn', fold_conv_bn, (True, False))
        self.with_cp = with_cp
        self.channels_last = channels_last
        self.fold_conv_bn = fold_conv_bn
        set_folding(self, fold_conv_bn)
        if channels_last is True:  # kept by later .to(device), load_state_dict, in-place init
            self.to(memory_format=torch.channels_last)

    def plan(self, x: torch.Tensor) -> ForwardPlan:
        return plan_forward(self, x, self.with_cp, self.fold_conv_bn, self.channels_last)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        plan = self.plan(x)
        if plan.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        # NCHW out: mmcv's CPU RoIAlign indexes its input as NCHW
        return tuple(o.contiguous() for o in self.forward_planned(x, plan))

    def forward_planned(self, x: torch.Tensor, plan: ForwardPlan) -> Sequence[torch.Tensor]:
        raise NotImplementedError

    def train(self, mode: bool = True):
        drop_folded(self)
        super().train(mode)  # (mmdet's ResNet.train returns None)
        return self
