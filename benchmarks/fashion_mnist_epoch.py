"""One Fashion-MNIST epoch in Python, the comparison for tempo's (bench_fashion_mnist_epoch).

The same training as tempo's: the 784-256-10 MLP (Linear, ReLU, Linear), Adam lr 1e-3, batch 128,
reshuffled, cross-entropy, inputs normalised as ((x / 255) - 0.2860) / 0.3530, read from Debian's
dataset-fashion-mnist. Two ways a Python user would write it:
  loop    the plain loop over torch.utils.data.DataLoader(TensorDataset, shuffle=True)
  skorch  skorch's NeuralNetClassifier (a trainer with callbacks), fit for one epoch
Timed: the epoch only (data loading per batch included); interpreter start-up, `import torch` and
decoding the IDX files are not. Prints one line of JSON: seconds, test accuracy, threads.

  /usr/bin/python3 fashion_mnist_epoch.py {loop|skorch} [--threads N] [--seed S]
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["loop", "skorch"])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train, test = load("train"), load("t10k")
    seconds, acc = (run_loop if args.mode == "loop" else run_skorch)(train, test)
    print(json.dumps({"seconds": seconds, "accuracy": acc, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
