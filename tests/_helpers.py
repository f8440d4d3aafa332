"""Helpers shared by the tests: backbone weights and errors, tiny synthetic data sets."""
import torch
import torch.nn as nn


def randomise_bn(model: nn.Module) -> None:
    """Non-trivial BN statistics and affine values, so eval-mode BN matters."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.1)


def randomise_all(module: nn.Module, std: float, seed: int = 0) -> nn.Module:
    """Every parameter drawn from N(0, std) and non-trivial BN statistics, in
    eval mode: zero-initialised gammas and output convs would make many blocks
    the identity and hide errors. (``train(False)``: mmdet's ResNet.train
    returns None.)"""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, std)
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    module.train(False)
    return module


def gradient_errors_vs_float64(models, reference, x, train: bool):
    """Relative gradient error (global L2) of each float32 model against a
    float64 reference with the same weights, for a random projection of the
    outputs (well conditioned, unlike a plain mean after batch-norm)."""
    with torch.no_grad():
        models[0].eval()
        proj = [torch.randn_like(o) for o in models[0](x)]
    grads = []
    for model, inp in [(m, x) for m in models] + [(reference, x.double())]:
        model.train(train)
        sum((o * r.to(o.dtype)).sum() for o, r in zip(model(inp), proj)).backward()
        grads.append(torch.cat([p.grad.double().flatten() for p in model.parameters()]))
    ref = grads.pop()
    return [float((g - ref).norm() / ref.norm()) for g in grads]


def synthetic_data_options(root: str, num_train: int = 4, num_val: int = 2, seed: int = 0,
                           image_size: int = 64) -> list:
    """Make a tiny synthetic COCO-format set at ``root`` and return the
    ``--cfg-options`` that point the demo configs' train, val and test
    loaders and evaluators at it."""
    from mmattn.datasets.synthetic import make_synthetic_coco
    make_synthetic_coco(root, num_train=num_train, num_val=num_val, image_size=image_size,
                        min_side=12, max_side=32, seed=seed)
    ann = f'{root}/annotations/instances_val.json'
    return [f'{split}_dataloader.dataset.data_root={root}/' for split in ('train', 'val', 'test')
            ] + [f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']
