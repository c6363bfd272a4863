#!/usr/bin/env python3
"""Writes tests/golden/onnx/: CNNs exported by PyTorch's torch.onnx.export (opset 14, a dynamic
batch axis), each with an input batch and PyTorch's outputs for it, for import_onnx's tests.

  lenet      LeNet-5 as in Dive into Deep Learning (sigmoid, average pooling), trained for one
             epoch on Fashion-MNIST; lenet.json holds PyTorch's accuracy on the first 2000 test
             images (the C test fine-tunes the imported model from there)
  bn_lenet   LeNet with batch normalization after each convolution and hidden dense layer,
             exported in eval mode with its BatchNormalization nodes kept (TrainingMode.PRESERVE)
  resnet     a small ResNet: 7x7 stem with max pooling (explicit padding), two residual blocks
             (the second strided, with a 1x1 projection shortcut), global average pooling
  inception  a small GoogLeNet: a stem and one Inception block (1x1, 3x3, 5x5 and pooling
             branches concatenated along channels), global average pooling, dropout

The weights of bn_lenet, resnet and inception are random (seeded), with random batch-norm
statistics so that normalization is not the identity. Inputs are Fashion-MNIST test images,
scaled to [0, 1], as float32 NCHW.

Needs Debian's python3-torch and python3-onnx, and Fashion-MNIST in data/fashion-mnist
(scripts/fetch_fashion_mnist.sh). Run from the repository root:
  /usr/bin/python3 tests/golden/make_torch_onnx.py
"""
import gzip
import json
import os

import numpy as np
import onnx
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "onnx")
DATA = os.path.join(HERE, "..", "..", "data", "fashion-mnist")


def idx(name):
    with gzip.open(os.path.join(DATA, name + ".gz")) as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def images(name):
    return torch.from_numpy(idx(name).astype(np.float32) / 255.0).unsqueeze(1)


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def bn_lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(256, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(), nn.Linear(84, 10))


class Residual(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


def resnet():
    return nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=7, stride=2, padding=3), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        Residual(8, 8, 1), Residual(8, 16, 2),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(16, 10))


class Inception(nn.Module):
    def __init__(self, cin, c1, c2, c3, c4):
        super().__init__()
        self.p1 = nn.Conv2d(cin, c1, 1)
        self.p2 = nn.Sequential(nn.Conv2d(cin, c2[0], 1), nn.ReLU(), nn.Conv2d(c2[0], c2[1], 3, padding=1))
        self.p3 = nn.Sequential(nn.Conv2d(cin, c3[0], 1), nn.ReLU(), nn.Conv2d(c3[0], c3[1], 5, padding=2))
        self.p4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(cin, c4, 1))

    def forward(self, x):
        return torch.cat([torch.relu(self.p1(x)), torch.relu(self.p2(x)), torch.relu(self.p3(x)),
                          torch.relu(self.p4(x))], dim=1)


def inception():
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        Inception(16, 8, (8, 12), (4, 6), 6), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Dropout(0.4),
        nn.Linear(32, 10))


def randomize_batch_norm(model, generator):
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.uniform_(-0.5, 0.5, generator=generator)
                m.running_var.uniform_(0.5, 1.5, generator=generator)
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.uniform_(-0.5, 0.5, generator=generator)


def train_one_epoch(model, x, y):
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(x), generator=generator)
    model.train()
    for start in range(0, len(x), 128):
        batch = order[start:start + 128]
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
        loss.backward()
        optimizer.step()


def export(name, model, x, preserve=False):
    model.eval()
    path = os.path.join(OUT, name + ".onnx")
    mode = torch.onnx.TrainingMode.PRESERVE if preserve else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(model, x, path, opset_version=14, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, training=mode)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    with torch.no_grad():
        expected = model(x).numpy()
    np.save(os.path.join(OUT, name + "_input.npy"), x.numpy())
    np.save(os.path.join(OUT, name + "_expected.npy"), expected)
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    print(f"{name}: {os.path.getsize(path)} bytes, operators {', '.join(ops)}")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(20)
    generator = torch.Generator().manual_seed(20)
    x_test, y_test = images("t10k-images-idx3-ubyte"), torch.from_numpy(idx("t10k-labels-idx1-ubyte").astype(np.int64))
    batch = x_test[:8]

    net = lenet()
    train_one_epoch(net, images("train-images-idx3-ubyte"), torch.from_numpy(idx("train-labels-idx1-ubyte").astype(np.int64)))
    net.eval()
    with torch.no_grad():
        accuracy = (net(x_test[:2000]).argmax(1) == y_test[:2000]).float().mean().item()
    export("lenet", net, batch)
    with open(os.path.join(OUT, "lenet.json"), "w") as f:
        json.dump({"test_accuracy_first_2000": round(accuracy, 4)}, f)
        f.write("\n")
    print(f"lenet: PyTorch's accuracy on the first 2000 test images {accuracy:.4f}")

    for name, make in (("bn_lenet", bn_lenet), ("resnet", resnet), ("inception", inception)):
        model = make()
        randomize_batch_norm(model, generator)
        export(name, model, batch, preserve=name != "inception")


if __name__ == "__main__":
    main()
