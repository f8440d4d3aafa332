"""Fold batch norms into the convolutions before testing (``test.py --fuse-conv-bn``)."""
from mmcv.cnn import fuse_conv_bn
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch.nn.modules.batchnorm import _BatchNorm

from mmattn.registry import register


def count_batch_norms(model) -> int:
    return sum(isinstance(m, _BatchNorm) for m in model.modules())


@register('HOOKS', root=True)
class FuseConvBNHook(Hook):
    """mmcv's ``fuse_conv_bn`` on the model once its weights are loaded
    (``before_test``: after the runner has loaded the checkpoint), as
    MMDetection 2.x's ``test.py --fuse-conv-bn``. A BatchNorm directly after
    a ``Conv2d`` among a module's children becomes part of the conv's weight
    and bias; the others (after PSA, frozen BN, GN) stay. Evaluation only:
    the folded model must not be trained further."""

    priority = 'LOW'

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        before = count_batch_norms(model)
        fuse_conv_bn(model)
        print_log(f'FuseConvBNHook: folded {before - count_batch_norms(model)} of {before} '
                  'batch norms into their convolutions', logger='current')
