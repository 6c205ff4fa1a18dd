#!/usr/bin/env python3
"""demo_classifier.py GRID.png [GRID2.png ...] — how many of the demo's samples an independent classifier
recognises as the requested Fashion-MNIST class.

The classifier is a small CNN (two 3x3 conv blocks + two linear layers, PyTorch) trained here on the real
Fashion-MNIST training set (/usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist) for 2 epochs with
a fixed seed, cached in ~/.cache/ditc/fmnist_cnn.pt; its accuracy on the 10,000 real test images is printed beside
the figure on samples, so the figure can be read against what the classifier can do at all.

A grid is what `ditc sample --per-class P` writes for a 28x28 one-channel model: torchvision make_grid layout
(padding 2), one row per class 0..9, P samples per row. Prints, per grid, the fraction recognised and a per-class
breakdown; the last line is machine-readable: "RESULT test_acc=0.9123 samples_acc=0.8625 n=80".
Not a test (it trains a network): a benchmark script for the README's demo figure.
"""
import argparse
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

DATA = "/usr/share/datasets/fashion-mnist"
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]


def idx(name):
    for path in (os.path.join(DATA, name), os.path.join(DATA, name + ".gz")):
        if os.path.exists(path):
            raw = (gzip.open if path.endswith(".gz") else open)(path, "rb").read()
            ndim = raw[3]
            shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
            return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)
    sys.exit(f"demo_classifier.py: {name} not found in {DATA} (apt install dataset-fashion-mnist)")


def net():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def to_input(u8):  # (N, 28, 28) uint8 -> the [-1, 1] range the DiT samples live in
    return torch.from_numpy(u8.astype(np.float32) / 127.5 - 1.0).unsqueeze(1)


def train_classifier(cache):
    torch.manual_seed(0)
    x, y = to_input(idx("train-images-idx3-ubyte")), torch.from_numpy(idx("train-labels-idx1-ubyte").astype(np.int64))
    m = net()
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    for epoch in range(2):
        m.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            b = perm[i:i + 128]
            xb = x[b]
            if torch.rand(()) < 0.5:  # flips as the demo's training data (--random-flip)
                xb = xb.flip(3)
            loss = nn.functional.cross_entropy(m(xb), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"classifier epoch {epoch + 1}: loss {loss.item():.3f}", file=sys.stderr)
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    torch.save(m.state_dict(), cache)
    return m


def predict(m, x):
    m.eval()
    with torch.no_grad():
        return torch.cat([m(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])


def grid_samples(path, side=28, pad=2):
    g = np.asarray(Image.open(path).convert("L"))
    rows, cols = (g.shape[0] - pad) // (side + pad), (g.shape[1] - pad) // (side + pad)
    tiles = [g[pad + r * (side + pad):pad + r * (side + pad) + side, pad + c * (side + pad):pad + c * (side + pad) + side]
             for r in range(rows) for c in range(cols)]
    return np.stack(tiles), np.repeat(np.arange(rows), cols)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("grids", nargs="+")
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/ditc/fmnist_cnn.pt"))
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if os.path.exists(a.cache):
        m = net()
        m.load_state_dict(torch.load(a.cache))
    else:
        m = train_classifier(a.cache)
    xt, yt = to_input(idx("t10k-images-idx3-ubyte")), torch.from_numpy(idx("t10k-labels-idx1-ubyte").astype(np.int64))
    test_acc = (predict(m, xt) == yt).float().mean().item()
    print(f"classifier accuracy on the 10,000 real Fashion-MNIST test images: {test_acc:.4f}")
    for path in a.grids:
        u8, want = grid_samples(path)
        got = predict(m, to_input(u8)).numpy()
        ok = got == want
        print(f"{path}: {ok.mean():.4f} of {len(ok)} samples recognised as the requested class")
        for k in range(want.max() + 1):
            sel = want == k
            print(f"  {k} {CLASSES[k] if k < 10 else k:>10}: {ok[sel].mean():.2f}")
        print(f"RESULT test_acc={test_acc:.4f} samples_acc={ok.mean():.4f} n={len(ok)}")


if __name__ == "__main__":
    main()
