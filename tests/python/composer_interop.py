#!/usr/bin/env python3
"""MosaicML Composer's side of tempo's Composer interop test (tests/trainer/test_composer_interop.cpp).

Both sides train tempo's built-in mlp (in_features 32, hidden [64], num_classes 4: parameters
layers.0.weight, layers.0.bias, head.weight, head.bias) with Adam(lr=1e-3) and cross-entropy, batch
16, on the same 64 samples in order (no shuffling): 4 batches an epoch.

  composer_interop.py save OUT_DIR
      Makes the data (OUT_DIR/expected.pt "x", "y"), trains 4 batches with Composer's own Trainer,
      which saves its checkpoint OUT_DIR/ep0-ba3-rank0.pt at batch 3. expected.pt also holds what
      the trainer held at batch 3 ("model", "exp_avg", "exp_avg_sq" by parameter name,
      "adam_step") and the weights at batch 4 ("model_ba4"), so that tempo, resuming from the
      checkpoint, can show that it continues as Composer did. expected.pt holds only tensors and
      numbers: tempo's reader and torch.load's default both open it.
  composer_interop.py load CKPT DATA_PT EXPECTED_CKPT
      CKPT is a checkpoint tempo wrote at batch 3; EXPECTED_CKPT one tempo wrote at batch 5 of the
      same run. Opens CKPT with torch.load's default (weights_only=True); loads it into Composer's
      Trainer through load_path and checks that the weights, Adam's state and the timestamp are the
      file's, and that the Python and NumPy generator states are those Composer's seed_all leaves
      for the file's rank_zero_seed; trains on to batch 5 on DATA_PT's samples and checks the
      weights against tempo's at batch 5 (LibTorch's and Python's Adam round differently in torch
      2.x, so within 1e-6, far below one step's change).
  composer_interop.py import
      Only imports Composer (the tests' probe for it).
Prints "ok" and exits 0 on success; a message on stderr and a non-zero status otherwise.
"""
import argparse
import os
import random
import sys
import warnings

import numpy as np
import torch
from torch import nn

SEED = 17
BATCH_SIZE = 16
N_SAMPLES = 64
IN_FEATURES, HIDDEN, NUM_CLASSES = 32, 64, 4
PARAM_SHAPES = {"layers.0.weight": (64, 32), "layers.0.bias": (64,), "head.weight": (4, 64), "head.bias": (4,)}
# Far below what one Adam step at lr 1e-3 changes (about 1e-3), far above float rounding.
ATOL = 1e-6


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def import_composer():
    """Imports Composer beside the CPU torch 2.13.

    composer/utils/misc.py imports torchvision unconditionally. PyPI's x86_64 torchvision 0.28.0
    (the release for torch 2.13) is a CUDA build whose C++ ops cannot load beside a CPU torch, and
    its _meta_registrations.py then fails on register_fake("torchvision::nms"). Defining the two
    op schemas it registers fakes for (no kernels) lets it import; Composer never calls them.
    """
    global _TORCHVISION_SCHEMAS
    try:
        torch.ops.torchvision.nms
    except (AttributeError, RuntimeError):
        _TORCHVISION_SCHEMAS = torch.library.Library("torchvision", "DEF")  # kept: dropping it undefines them
        _TORCHVISION_SCHEMAS.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _TORCHVISION_SCHEMAS.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    import composer  # noqa: F401


def make_model():
    from composer.models import ComposerModel

    class TempoMlp(ComposerModel):
        """tempo's mlp with its parameter names (a ComposerClassifier would prefix them 'module.')."""

        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(IN_FEATURES, HIDDEN)])
            self.head = nn.Linear(HIDDEN, NUM_CLASSES)

        def forward(self, batch):
            x, _ = batch
            for layer in self.layers:
                x = torch.relu(layer(x))
            return self.head(x)

        def loss(self, outputs, batch, *args, **kwargs):
            return nn.functional.cross_entropy(outputs, batch[1])

    model = TempoMlp()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    check(shapes == PARAM_SHAPES, f"model layout {shapes} != {PARAM_SHAPES}")
    return model


def make_trainer(model, x, y, max_duration, **kwargs):
    from composer import Trainer
    from composer.utils import dist

    dataset = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH_SIZE, drop_last=True,
                                         sampler=dist.get_sampler(dataset, shuffle=False, drop_last=True))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return Trainer(model=model, train_dataloader=loader, optimizers=optimizer, max_duration=max_duration,
                   device="cpu", seed=SEED, progress_bar=False, log_to_console=False, loggers=[], **kwargs)


def adam_by_name(optimizer, model):
    name_of = {p: n for n, p in model.named_parameters()}
    return {name_of[p]: s for p, s in optimizer.state.items()}


def cmd_save(out_dir):
    import_composer()
    from composer import Callback

    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(SEED)
    x = torch.randn(N_SAMPLES, IN_FEATURES, generator=g)
    y = torch.randint(0, NUM_CLASSES, (N_SAMPLES,), generator=g)
    snapshot = {}

    class AtBatch3(Callback):
        def batch_end(self, state, logger):  # before Composer's checkpoint event of the same batch
            if state.timestamp.batch.value == 3:
                adam = adam_by_name(state.optimizers[0], state.model)
                snapshot["model"] = {k: v.detach().clone() for k, v in state.model.state_dict().items()}
                snapshot["exp_avg"] = {n: s["exp_avg"].clone() for n, s in adam.items()}
                snapshot["exp_avg_sq"] = {n: s["exp_avg_sq"].clone() for n, s in adam.items()}
                snapshot["adam_step"] = float(next(iter(adam.values()))["step"])

    model = make_model()
    trainer = make_trainer(model, x, y, "4ba", callbacks=[AtBatch3()], save_folder=out_dir, save_interval="3ba",
                           save_overwrite=True, save_latest_filename=None)
    trainer.fit()
    trainer.close()
    ckpt = os.path.join(out_dir, "ep0-ba3-rank0.pt")
    check(os.path.isfile(ckpt), f"Composer did not write {ckpt}: {sorted(os.listdir(out_dir))}")
    check(snapshot, "the batch-3 snapshot was not taken")
    saved = torch.load(ckpt, weights_only=False)["state"]["model"]  # Composer's own load allows everything
    for k, v in snapshot["model"].items():
        check(torch.equal(saved[k], v), f"Composer's checkpoint holds another {k} than its trainer had at batch 3")
    expected = dict(snapshot, x=x, y=y, model_ba4={k: v.detach().clone() for k, v in model.state_dict().items()})
    torch.save(expected, os.path.join(out_dir, "expected.pt"))
    print(ckpt)


def cmd_load(path, data_path, expected_path):
    import_composer()
    try:
        checkpoint = torch.load(path)  # torch 2.13's default: weights_only=True, nothing allowlisted
        expected = torch.load(expected_path)
    except Exception as e:  # noqa: BLE001
        raise Failure(f"torch.load with its default weights_only=True refused a tempo checkpoint: {e}")
    data = torch.load(data_path)
    state = checkpoint["state"]
    counters = state["timestamp"]["Timestamp"]
    batch = counters["batch"]

    rng = checkpoint["rng"][0]
    seed = state["rank_zero_seed"]
    random.seed(seed)
    check(rng["python"] == random.getstate(), "rng/0/python is not random.seed(rank_zero_seed)'s state")
    np.random.seed(seed)
    numpy_state = np.random.get_state()
    check(rng["numpy"][0] == "MT19937" and list(rng["numpy"][1]) == [int(v) for v in numpy_state[1]] and
          tuple(rng["numpy"][2:]) == tuple(numpy_state[2:]), "rng/0/numpy is not np.random.seed(rank_zero_seed)'s state")

    model = make_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = make_trainer(model, data["x"], data["y"], f"{batch + 2}ba", load_path=path,
                               load_weights_only=False)
    skipped = [str(w.message).split(" is not in")[0] for w in caught if "will not be restored" in str(w.message)]
    for name in ("Timestamp", "Adam"):
        check(name not in skipped, f"Composer did not restore {name} from the tempo checkpoint")

    for k, v in state["model"].items():
        check(torch.equal(model.state_dict()[k], v), f"after load_path, {k} is not the checkpoint's")
    saved_adam = state["optimizers"]["Adam"]
    names = list(PARAM_SHAPES)
    live = adam_by_name(trainer.state.optimizers[0], model)
    for index, name in enumerate(names):
        saved = saved_adam["state"][index]
        check(float(live[name]["step"]) == float(saved["step"]) == batch, f"Adam step of {name}")
        for key in ("exp_avg", "exp_avg_sq"):
            check(torch.equal(live[name][key], saved[key]), f"after load_path, Adam {key} of {name} differs")
    timestamp = trainer.state.timestamp
    for key in ("batch", "sample", "epoch", "batch_in_epoch"):
        check(getattr(timestamp, key).value == counters[key], f"timestamp {key} after load_path")

    trainer.fit()
    trainer.close()
    check(trainer.state.timestamp.batch.value == batch + 2, "Composer did not train on to batch + 2")
    target = expected["state"]["model"]
    for k, v in model.state_dict().items():
        moved = (target[k] - state["model"][k]).abs().max().item()
        diff = (v - target[k]).abs().max().item()
        check(moved > 100 * ATOL, f"{k} moved only {moved} in two steps: the comparison would prove nothing")
        check(diff <= ATOL, f"after two more batches in Composer, {k} is {diff} away from tempo's")
    print(f"continued to batch {batch + 2}; largest difference from tempo's weights "
          f"{max((v - target[k]).abs().max().item() for k, v in model.state_dict().items()):.3g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("import")
    sub.add_parser("save").add_argument("out_dir")
    load = sub.add_parser("load")
    for name in ("ckpt", "data", "expected"):
        load.add_argument(name)
    args = parser.parse_args()
    try:
        if args.cmd == "import":
            import_composer()
        elif args.cmd == "save":
            cmd_save(args.out_dir)
        else:
            cmd_load(args.ckpt, args.data, args.expected)
    except Failure as e:
        print(f"composer_interop {args.cmd}: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
