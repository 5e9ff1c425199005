"""One Fashion-MNIST epoch in Python, the comparison for tempo's (bench_fashion_mnist_epoch).

The same training as tempo's: the 784-256-10 MLP (Linear, ReLU, Linear), Adam lr 1e-3, batch 128,
reshuffled, cross-entropy, inputs normalised as ((x / 255) - 0.2860) / 0.3530, read from Debian's
dataset-fashion-mnist, then the accuracy on the 10,000 test images. Ways a Python user would write it:
  loop       the plain loop over torch.utils.data.DataLoader(TensorDataset, shuffle=True)
  skorch     skorch's NeuralNetClassifier (a trainer with callbacks), fit for one epoch
  composer   MosaicML Composer's Trainer(max_duration="1ep").fit(), then its eval() with a
             torchmetrics accuracy (Composer's get_metrics)
  lightning  PyTorch Lightning's Trainer(max_epochs=1).fit(), then its test() with the accuracy
             logged from test_step
The trainers run as a minimal user run would: CPU, no progress bar, logger, checkpoint, model
summary or validation during training.
Timed ("seconds"): the epoch only (data loading per batch included; for composer and lightning from
building the model and Trainer to the end of their evaluation); interpreter start-up, imports and
decoding the IDX files are not: bench_peers_epoch times the whole process instead. Prints one
line of JSON: seconds, test accuracy, threads.

  $TEMPO_PYTHON fashion_mnist_epoch.py {loop|skorch|composer|lightning} [--threads N] [--seed S]
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch
from torch import nn

DIR = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    images = read_idx(f"{DIR}/{split}-images-idx3-ubyte.gz")
    labels = read_idx(f"{DIR}/{split}-labels-idx1-ubyte.gz")
    x = (torch.from_numpy(images.astype(np.float32)) / 255.0 - MEAN) / STD
    return x.reshape(-1, 1, 28, 28), torch.from_numpy(labels.astype(np.int64))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(784, 256)])
        self.head = nn.Linear(256, 10)

    def forward(self, x):
        x = x.flatten(1)
        for layer in self.layers:
            x = torch.relu(layer(x))
        return self.head(x)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        correct = sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000))
    return correct / len(x)


def run_loop(train, test):
    model = Mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*train), batch_size=128, shuffle=True)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        loss.item()  # as a user logging the loss does, and as tempo does
    seconds = time.perf_counter() - start
    return seconds, accuracy(model, *test)


def run_skorch(train, test):
    from skorch import NeuralNetClassifier

    net = NeuralNetClassifier(Mlp, criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=1e-3,
                              batch_size=128, max_epochs=1, train_split=None, iterator_train__shuffle=True,
                              verbose=0)
    start = time.perf_counter()
    net.fit(train[0], train[1])
    seconds = time.perf_counter() - start
    return seconds, accuracy(net.module_, *test)


def test_loader(test):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*test), batch_size=1000, shuffle=False)


def make_torchvision_importable():
    """Composer imports torchvision (composer/utils/misc.py), Lightning through torchmetrics. PyPI's
    torchvision 0.28.0 is a CUDA build whose ops cannot load beside the CPU torch 2.13, and its
    import then fails on register_fake("torchvision::nms"); defining the two op schemas first lets
    it import (docs/composer.md). Costs well under a millisecond."""
    global _TORCHVISION_SCHEMAS
    try:
        torch.ops.torchvision.nms
    except (AttributeError, RuntimeError):
        _TORCHVISION_SCHEMAS = torch.library.Library("torchvision", "DEF")
        _TORCHVISION_SCHEMAS.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _TORCHVISION_SCHEMAS.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")


def run_composer(train, test, seed):
    make_torchvision_importable()
    from composer import Trainer
    from composer.models import ComposerModel
    from torchmetrics.classification import MulticlassAccuracy

    class Classifier(ComposerModel):
        def __init__(self):
            super().__init__()
            self.net = Mlp()
            self.acc = MulticlassAccuracy(num_classes=10, average="micro")

        def forward(self, batch):
            return self.net(batch[0])

        def loss(self, outputs, batch, *args, **kwargs):
            return nn.functional.cross_entropy(outputs, batch[1])

        def get_metrics(self, is_train=False):
            return {} if is_train else {"MulticlassAccuracy": self.acc}

        def update_metric(self, batch, outputs, metric):
            metric.update(outputs.argmax(1), batch[1])

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*train), batch_size=128, shuffle=True)
    start = time.perf_counter()
    model = Classifier()
    trainer = Trainer(model=model, train_dataloader=loader, max_duration="1ep",
                      optimizers=torch.optim.Adam(model.parameters(), lr=1e-3), device="cpu", seed=seed,
                      progress_bar=False, log_to_console=False, loggers=[])
    trainer.fit()
    trainer.eval(eval_dataloader=test_loader(test))
    acc = float(trainer.state.eval_metric_values["MulticlassAccuracy"])
    seconds = time.perf_counter() - start
    trainer.close()
    return seconds, acc


def run_lightning(train, test, seed):
    make_torchvision_importable()
    import warnings

    import pytorch_lightning as pl

    class Classifier(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = Mlp()

        def training_step(self, batch, batch_idx):
            return nn.functional.cross_entropy(self.net(batch[0]), batch[1])

        def test_step(self, batch, batch_idx):
            correct = (self.net(batch[0]).argmax(1) == batch[1]).sum()
            self.log("test_acc", correct.float() / len(batch[1]), reduce_fx="mean", batch_size=len(batch[1]))

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*train), batch_size=128, shuffle=True)
    start = time.perf_counter()
    model = Classifier()
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         limit_val_batches=0)
    trainer.fit(model, train_dataloaders=loader)
    result = trainer.test(model, dataloaders=test_loader(test), verbose=False)
    seconds = time.perf_counter() - start
    return seconds, float(result[0]["test_acc"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["loop", "skorch", "composer", "lightning"])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train, test = load("train"), load("t10k")
    if args.mode in ("composer", "lightning"):
        seconds, acc = (run_composer if args.mode == "composer" else run_lightning)(train, test, args.seed)
    else:
        seconds, acc = (run_loop if args.mode == "loop" else run_skorch)(train, test)
    print(json.dumps({"seconds": seconds, "accuracy": acc, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
