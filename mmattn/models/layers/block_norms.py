"""The train/eval mode of the BatchNorms inside a plug-in attention block.

mmdet's ResNet (and EPSANet) with ``norm_eval=True`` put every ``_BatchNorm``
below them in eval mode for the whole run, to keep the statistics that came
with the ImageNet checkpoint. A block added as a plugin brings no statistics:
frozen at its initial ones (mean 0, var 1), its norm never normalises. So the
rule in mmattn: a plug-in block's norms are in train mode exactly when the
block is. ``norm_eval`` (which reaches BatchNorms directly) leaves them
training; ``frozen_stages`` and ``model.eval()`` (which reach the block)
still switch them off. For a backbone pretrained *with* the blocks, pass
``norms_follow_block=False`` and ``norm_eval`` covers them again.
"""
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


class NormsFollowBlockMixin:
    """Call ``self._sync_norm_modes()`` first thing in ``forward``."""

    norms_follow_block: bool = True

    def _sync_norm_modes(self: nn.Module) -> None:
        if not self.norms_follow_block:
            return
        for m in self.modules():
            if isinstance(m, _BatchNorm) and m.training != self.training:
                m.training = self.training
