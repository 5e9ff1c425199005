"""Python's side of tempo's trainer interop tests (run with TEMPO_PYTHON).

  trainer_interop.py check CKPT BATCH   torch.load a tempo training checkpoint, load its model and
                                        Adam state into the equivalent Python objects, take a step
  trainer_interop.py save OUT.pt        torch.save(TinyNet().state_dict()) with known weights
"""
import random
import sys

import torch
from torch import nn


class TinyNet(nn.Module):
    """The same module as tests/support/fixtures.h's TinyNet, with the same parameter names."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.drop = nn.Dropout(0.1)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        return self.fc2(self.drop(torch.relu(self.fc1(x))))


def check(path, batch):
    c = torch.load(path)
    assert list(c) == ["state", "rng"], list(c)
    state = c["state"]
    assert state["timestamp"]["Timestamp"]["batch"] == batch, state["timestamp"]
    assert state["run_name"] == "test-run", state["run_name"]
    model = TinyNet()
    model.load_state_dict(state["model"])  # strict: every name and shape must match
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    optimizer.load_state_dict(state["optimizers"]["Adam"])
    assert optimizer.param_groups[0]["lr"] == 1e-2, optimizer.param_groups[0]["lr"]
    assert int(optimizer.state[model.fc1.weight]["step"]) == batch
    assert c["rng"][0]["torch"].dtype == torch.uint8
    torch.set_rng_state(c["rng"][0]["torch"])  # the same generator format as Python's
    random.setstate(c["rng"][0]["python"])  # and Python's own, as Composer's seed_all(42) leaves it
    random.seed(42)
    assert random.getstate() == c["rng"][0]["python"]
    model(torch.randn(4, 8)).sum().backward()
    optimizer.step()
    print("ok")


def save(out):
    model = TinyNet()
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape) * 0.01 + i)
    torch.save(model.state_dict(), out)
    print("ok")


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(sys.argv[2], int(sys.argv[3]))
    else:
        save(sys.argv[2])
