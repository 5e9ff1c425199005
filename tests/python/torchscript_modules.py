"""Writes the TorchScript modules tempo's torchscript tests load, into FOLDER:
  mlp.pt, mlp_loss.pt  examples/torchscript/make_torchscript_mlp.py's MLP (8 -> 16 -> 2, dropout
                       0.1, seed 0), without and with a loss(outputs, targets) method
  nested.pt            nested submodules (ModuleList, Sequential, ModuleDict) with BatchNorm
                       buffers; nested.json: the nn.Module's named_parameters(), named_buffers()
                       and state_dict() keys, in order
  no_forward.pt        a scripted module with an exported method but no forward
  tuple.pt             forward returns a tuple
  regress.pt           Linear(8, 1): outputs [N, 1]
  tied.pt              two Linear(8, 8) sharing one weight (out.weight = embed.weight); tied.json as
                       nested.json
  weights.pt           torch.save(state_dict): a zip but not a TorchScript archive
usage: torchscript_modules.py FOLDER
"""
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "torchscript"))
import make_torchscript_mlp  # noqa: E402


class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 6)
        self.block = nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6), nn.ReLU())
        self.layers = nn.ModuleList([nn.Linear(6, 4), nn.ModuleDict({"out": nn.Linear(4, 2)})])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(self.fc1(x))
        x = self.layers[0](x)
        for _, m in self.layers[1].items():
            x = m(x)
        return x


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(8, 8, bias=False)
        self.out = nn.Linear(8, 8, bias=False)
        self.out.weight = self.embed.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.embed(x)))


class NoForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)

    @torch.jit.export
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class Tuple(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor):
        y = self.fc(x)
        return y, y


def main():
    folder = sys.argv[1]
    save = lambda module, name: torch.jit.script(module).save(os.path.join(folder, name))  # noqa: E731
    save(make_torchscript_mlp.make(8, [16], 2, 0.1), "mlp.pt")
    save(make_torchscript_mlp.make(8, [16], 2, 0.1, loss_method=True), "mlp_loss.pt")
    torch.manual_seed(0)
    nested = Nested()
    save(nested, "nested.pt")
    with open(os.path.join(folder, "nested.json"), "w") as f:
        json.dump({"parameters": [n for n, _ in nested.named_parameters()],
                   "buffers": [n for n, _ in nested.named_buffers()],
                   "state_dict": list(nested.state_dict().keys())}, f)
    tied = Tied()
    save(tied, "tied.pt")
    with open(os.path.join(folder, "tied.json"), "w") as f:
        json.dump({"parameters": [n for n, _ in tied.named_parameters()],
                   "state_dict": list(tied.state_dict().keys())}, f)
    save(NoForward(), "no_forward.pt")
    save(Tuple(), "tuple.pt")
    save(nn.Linear(8, 1), "regress.pt")
    torch.save(nested.state_dict(), os.path.join(folder, "weights.pt"))


if __name__ == "__main__":
    main()
