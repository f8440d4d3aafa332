"""Helpers shared by the backbone tests."""
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
