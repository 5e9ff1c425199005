"""Checks, with Python's torch, a checkpoint written by tempo's test "Python's torch.load opens a
tempo checkpoint" (tests/serialization/test_python_interop.cpp). The expected values are the
constants agreed with that test. Exits non-zero with a message on any mismatch.

Usage: /usr/bin/python3 check_tempo_checkpoint.py FILE [FLOATLESS_FILE]

FLOATLESS_FILE, if given, holds {"model": <the same model>, "views": ..., "dtypes": ...} and
no Python floats; it must load with torch.load(weights_only=True) even on torch 1.13, whose
weights-only loader lacks the BINFLOAT opcode (added in torch 2.0) and so refuses any pickle
with a float, its own optimizer state_dicts included.
"""
import pickle
import pickletools
import sys
import zipfile

import torch

ALLOWED_GLOBALS = {"torch._utils _rebuild_tensor_v2", "collections OrderedDict"} | {
    f"torch {t}Storage"
    for t in ("Float", "Double", "Half", "BFloat16", "Char", "Short", "Int", "Long", "Byte", "Bool")
}


def check_globals(path):
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if n.endswith("/data.pkl")]
        assert len(names) == 1, z.namelist()
        found = set()
        for op, arg, _ in pickletools.genops(z.read(names[0])):
            assert op.name not in ("INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "STACK_GLOBAL", "EXT1", "EXT2", "EXT4"), op.name
            if op.name == "GLOBAL":
                found.add(arg)
        assert found <= ALLOWED_GLOBALS, found - ALLOWED_GLOBALS
        return found


def same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), (a, b)


def main(path):
    check_globals(path)
    try:
        c = torch.load(path, weights_only=True)
    except TypeError:  # a torch without weights_only
        c = torch.load(path)
    except pickle.UnpicklingError as e:
        if "Unsupported operand 71" not in str(e):  # 71 = BINFLOAT, unknown to torch 1.13 only
            raise
        c = torch.load(path)
    assert list(c) == ["state", "rng"], list(c)
    s = c["state"]
    assert list(s) == ["model", "optimizers", "timestamp", "run_name", "views", "dtypes", "empty", "scalar"], list(s)

    m = s["model"]
    assert list(m) == ["0.weight", "0.bias"]
    same(m["0.weight"], torch.arange(6.0).reshape(2, 3) * 0.5)
    same(m["0.bias"], torch.tensor([0.5, -0.25]))
    net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    net.load_state_dict(m)
    same(net(torch.ones(1, 3)).detach(), torch.tensor([[2.0, 5.75]]))

    adam = s["optimizers"]["Adam"]
    assert list(adam["state"]) == [0], adam["state"]
    same(adam["state"][0]["step"], torch.tensor(3.0))
    same(adam["state"][0]["exp_avg"], torch.full((2, 3), 0.25))
    assert adam["param_groups"] == [
        {"lr": 0.001, "betas": (0.9, 0.999), "foreach": None, "amsgrad": False, "params": [0, 1]}
    ], adam["param_groups"]
    assert type(adam["param_groups"][0]["betas"]) is tuple

    assert s["timestamp"] == {"epoch": 2, "batch": 70000, "big": 2**40, "neg": -5, "min": -(2**63)}, s["timestamp"]
    assert s["run_name"] == "tempo-\u00fcn\u00ef", s["run_name"]

    v = s["views"]
    same(v["base"], torch.arange(10))
    same(v["slice"], torch.arange(2, 5))
    same(v["strided"], torch.tensor([0, 3, 6, 9]))
    ptr = v["base"].storage().data_ptr()
    assert v["slice"].storage().data_ptr() == ptr and v["strided"].storage().data_ptr() == ptr

    dtypes = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.int16, torch.int32,
              torch.int64, torch.uint8, torch.bool]
    assert list(s["dtypes"]) == [str(t).replace("torch.", "") for t in dtypes], list(s["dtypes"])
    for t in dtypes:
        expected = torch.arange(5) % 2 if t == torch.bool else torch.arange(5)
        same(s["dtypes"][str(t).replace("torch.", "")], expected.to(t))

    same(s["empty"], torch.zeros(0, 3))
    same(s["scalar"], torch.tensor(7.5, dtype=torch.float64))
    assert len(c["rng"]) == 1 and c["rng"][0]["seed"] == 42
    same(c["rng"][0]["torch"], torch.arange(16, dtype=torch.uint8))
    print("tempo checkpoint OK")


def main_floatless(path):
    check_globals(path)
    c = torch.load(path, weights_only=True)
    assert list(c) == ["model", "views", "dtypes"], list(c)
    same(c["model"]["0.weight"], torch.arange(6.0).reshape(2, 3) * 0.5)
    same(c["views"]["slice"], torch.arange(2, 5))
    same(c["dtypes"]["bool"], (torch.arange(5) % 2).to(torch.bool))
    print("floatless tempo checkpoint OK with weights_only=True")


if __name__ == "__main__":
    main(sys.argv[1])
    if len(sys.argv) > 2:
        main_floatless(sys.argv[2])
