"""Python's side of tempo's test "Python's torch.optim state dicts load into the fused optimizers
and theirs into Python's, bit-exactly" (tests/optim/test_fused_optimizers.cpp), for SGD, Adam and
AdamW, each with the same two param groups as that test builds:

  make OUTDIR   writes OUTDIR/<kind>_python.pt: the starting parameters ("init"), 20 steps of
                gradients ("grads"), the parameters and optimizer.state_dict() after 10 steps
                ("half", "optimizer") and the parameters after 20 ("full")
  check OUTDIR  reads OUTDIR/<kind>_tempo.pt (tempo's fused optimizer after the first 10 steps:
                "params", "optimizer"), loads it into torch.optim, takes the last 10 steps and
                requires the parameters to equal its own 20-step run's bit for bit

Usage: /usr/bin/python3 fused_optimizer_interop.py make|check OUTDIR
"""
import copy
import os
import sys

import torch

SHAPES = [(7,), (3, 33), (1000,)]
STEPS = 20


def build(kind, params):
    # The second group's options differ from the first's only where they also differ from the
    # optimizer's own defaults: LibTorch 2.x gives a C++ group the optimizer's value for any option
    # left at the class default (1.13 kept the group's), so only such groups mean the same on both.
    if kind == "sgd":
        return torch.optim.SGD(
            [{"params": params[:2]},
             {"params": params[2:], "lr": 0.05, "momentum": 0.5, "weight_decay": 0.1, "nesterov": True}],
            lr=0.1, momentum=0.9, nesterov=True)
    if kind == "adam":
        return torch.optim.Adam(
            [{"params": params[:2]}, {"params": params[2:], "lr": 3e-3, "weight_decay": 0.1, "amsgrad": True}],
            lr=1e-2, amsgrad=True)
    return torch.optim.AdamW([{"params": params[:2]}, {"params": params[2:], "lr": 3e-3, "weight_decay": 0.1}],
                             lr=1e-2)


def leaves(tensors):
    return [torch.nn.Parameter(t.detach().clone()) for t in tensors]


def apply(opt, params, grads, start, stop):
    for step in range(start, stop):
        for p, g in zip(params, grads[step]):
            p.grad = g.clone()
        opt.step()


def make(out):
    for kind in ("sgd", "adam", "adamw"):
        gen = torch.Generator().manual_seed(11)
        init = [torch.randn(s, generator=gen) for s in SHAPES]
        grads = [[torch.randn(s, generator=gen) for s in SHAPES] for _ in range(STEPS)]
        params = leaves(init)
        opt = build(kind, params)
        apply(opt, params, grads, 0, STEPS // 2)
        half = [p.detach().clone() for p in params]
        # state_dict() hands out the live state tensors, which the next steps update in place.
        state = copy.deepcopy(opt.state_dict())
        apply(opt, params, grads, STEPS // 2, STEPS)
        torch.save({"init": init, "grads": grads, "half": half, "optimizer": state,
                    "full": [p.detach().clone() for p in params]},
                   os.path.join(out, kind + "_python.pt"))


def check(out):
    failures = 0
    for kind in ("sgd", "adam", "adamw"):
        made = torch.load(os.path.join(out, kind + "_python.pt"))
        tempo = torch.load(os.path.join(out, kind + "_tempo.pt"))
        params = leaves(tempo["params"])
        opt = build(kind, params)
        opt.load_state_dict(tempo["optimizer"])
        apply(opt, params, made["grads"], STEPS // 2, STEPS)
        # Exact for SGD; for Adam and AdamW exact up to torch 1.x only: 2.x's Python Adam uses
        # lerp_ where LibTorch's (and so tempo's) keeps mul_ and add_.
        exact = kind == "sgd" or int(torch.__version__.split(".")[0]) < 2
        for i, (p, want) in enumerate(zip(params, made["full"])):
            same = torch.equal(p.detach(), want) if exact else torch.allclose(p.detach(), want, rtol=1e-4, atol=1e-5)
            if not same:
                failures += 1
                print(f"{kind}: parameter {i} differs by up to {(p.detach() - want).abs().max().item()}")
    if failures == 0:
        print("tempo's fused optimizer state continues in torch.optim (bit for bit where torch.optim's float "
              "operations are LibTorch's)")
    return failures


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        sys.exit(1 if check(sys.argv[2]) else 0)
