"""Python's side of tempo's torchscript round trip: loads a tempo checkpoint into the nn.Module
examples/torchscript/make_torchscript_mlp.py defines (strict load_state_dict), checks that every
tensor equals, bit for bit, the one in the TorchScript module `tempo export --format torchscript`
wrote (read with torch.jit.load), that both compute the same outputs, and saves the module's
state_dict() with torch.save for tempo to compare with its own weights.
usage: torchscript_roundtrip.py CHECKPOINT EXPORTED.pt OUT.pt
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "torchscript"))
import make_torchscript_mlp  # noqa: E402


def main():
    checkpoint, exported, out = sys.argv[1:4]
    model = make_torchscript_mlp.make(8, [16], 2, 0.1)
    state = torch.load(checkpoint, weights_only=True)["state"]["model"]
    model.load_state_dict(state)  # strict: the names are exactly the module's
    scripted = torch.jit.load(exported)
    ours, theirs = model.state_dict(), scripted.state_dict()
    assert list(ours) == list(theirs), (list(ours), list(theirs))
    for name, tensor in ours.items():
        other = theirs[name]
        assert tensor.dtype == other.dtype and tensor.shape == other.shape, name
        assert torch.equal(tensor.view(-1).view(torch.int32), other.view(-1).view(torch.int32)), name
    model.eval()
    scripted.eval()
    x = torch.randn(5, 8, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(model(x), scripted(x), rtol=0, atol=1e-6), (model(x), scripted(x))
    torch.save(model.state_dict(), out)
    print(f"ok: {len(ours)} tensors")


if __name__ == "__main__":
    main()
