"""Writes state_dicts with Python's torch.save for tempo's test "tempo reads torch.save's
state_dicts" (tests/serialization/test_python_interop.cpp), with fixed values that test checks:
  model.pt          nn.Sequential(nn.Linear(3, 2)).state_dict() (an OrderedDict with _metadata)
  optimizer.pt      Adam's state_dict() after one step, moments overwritten with fixed values
  parameter_p4.pt   {'p': nn.Parameter, 'model': ...} with pickle_protocol=4

Usage: /usr/bin/python3 save_state_dicts.py OUTDIR
"""
import os
import sys

import torch
from torch import nn


def main(out):
    net = nn.Sequential(nn.Linear(3, 2))
    with torch.no_grad():
        net[0].weight.copy_(torch.arange(6.0).reshape(2, 3) * 0.5)
        net[0].bias.copy_(torch.tensor([0.5, -0.25]))
    torch.save(net.state_dict(), os.path.join(out, "model.pt"))
    torch.save({"p": nn.Parameter(torch.arange(4.0)), "model": net.state_dict()},
               os.path.join(out, "parameter_p4.pt"), pickle_protocol=4)

    opt = torch.optim.Adam(net.parameters(), lr=0.5, betas=(0.5, 0.75), eps=0.125)
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    for i, p in enumerate(net.parameters()):
        state = opt.state[p]
        state["exp_avg"].copy_(torch.arange(float(p.numel())).reshape(p.shape) * 0.5 + i)
        state["exp_avg_sq"].copy_(torch.arange(float(p.numel())).reshape(p.shape) * 0.25)
    torch.save(opt.state_dict(), os.path.join(out, "optimizer.pt"))



if __name__ == "__main__":
    main(sys.argv[1])
