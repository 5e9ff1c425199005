"""Writes a TorchScript MLP for tempo's `model: {torchscript: {path: ...}}`.

    python make_torchscript_mlp.py mlp.pt [--in-features 784] [--hidden 256 128] [--classes 10]
                                          [--dropout 0.0] [--loss-method] [--seed 0]

The module has named submodules (layers.0, layers.1, ..., head), so its state_dict() keys are
"layers.0.weight", ..., "head.bias": the keys of tempo's checkpoints (state/model), which load
back into this module with load_state_dict(). With --loss-method it also exports a
loss(outputs, targets) method (cross-entropy), which tempo uses when the config sets no `loss`.
configs/torchscript_mlp.yaml trains what this script writes by default on Fashion-MNIST.
"""
import argparse

import torch
from torch import nn


class Mlp(nn.Module):
    def __init__(self, in_features: int, hidden: list, classes: int, dropout: float):
        super().__init__()
        widths = [in_features] + list(hidden)
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(widths, widths[1:])])
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(widths[-1], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        for layer in self.layers:
            x = self.dropout(torch.relu(layer(x)))
        return self.head(x)


class MlpWithLoss(Mlp):
    @torch.jit.export
    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(outputs, targets)


def make(in_features=784, hidden=(256,), classes=10, dropout=0.0, loss_method=False, seed=0):
    """The MLP as an nn.Module (to load tempo's checkpoints into) from a fixed seed."""
    torch.manual_seed(seed)
    cls = MlpWithLoss if loss_method else Mlp
    return cls(in_features, list(hidden), classes, dropout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", help="where to write the TorchScript module (.pt)")
    parser.add_argument("--in-features", type=int, default=784, help="inputs per sample, flattened")
    parser.add_argument("--hidden", type=int, nargs="*", default=[256], help="widths of the hidden layers")
    parser.add_argument("--classes", type=int, default=10, help="output logits")
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout after each hidden layer")
    parser.add_argument("--loss-method", action="store_true", help="export a loss(outputs, targets) method")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    args = parser.parse_args()
    model = make(args.in_features, args.hidden, args.classes, args.dropout, args.loss_method, args.seed)
    scripted = torch.jit.script(model)
    scripted.save(args.output)
    print(f"wrote {args.output}: {', '.join(scripted.state_dict().keys())}")


if __name__ == "__main__":
    main()
