#!/usr/bin/env python3
"""Writes grad_golden.json: PyTorch (float64) values, gradients and Hessian-vector products of a
few composite functions that tests/test_grad_golden.cpp rebuilds from loom ops.

Run with Debian's python3 (python3-torch): /usr/bin/python3 tests/golden/make_grad_golden.py
"""
import os

import torch
from golden_json import write_cases

torch.manual_seed(7)
d = torch.float64


def leaf(*shape, lo=-1.0, hi=1.0):
    return (torch.rand(*shape, dtype=d) * (hi - lo) + lo).requires_grad_(True)


def mlp(x, w, b):  # sum(tanh(x @ w + b)^2)
    return (torch.tanh(x @ w + b) ** 2).sum()


def logsumexp(x):  # stable log-sum-exp over rows, weighted
    m = x.max(dim=1, keepdim=True).values
    lse = torch.log(torch.exp(x - m).sum(dim=1)) + m.squeeze(1)
    return (lse * torch.tensor([1.0, 2.0, 3.0], dtype=d)).sum()


def mixed(x):  # sum(sigmoid(x) * sin(x) / (1 + x^2)) + ||x||
    return (torch.sigmoid(x) * torch.sin(x) / (1 + x * x)).sum() + torch.sqrt((x * x).sum())


def cross_entropy(logits, labels_onehot):  # mean of -sum(onehot * log_softmax)
    m = logits.max(dim=1, keepdim=True).values
    z = logits - m
    log_sm = z - torch.log(torch.exp(z).sum(dim=1, keepdim=True))
    return -(labels_onehot * log_sm).sum() / logits.shape[0]


cases = []


def record(name, fn, inputs, constants=()):
    value = fn(*inputs, *constants)
    grads = torch.autograd.grad(value, inputs, create_graph=True)
    vs = [torch.rand_like(g) - 0.5 for g in grads]
    dot = sum((g * v).sum() for g, v in zip(grads, vs))
    hvps = torch.autograd.grad(dot, inputs)
    t = lambda a: {"shape": list(a.shape), "values": a.detach().reshape(-1).tolist()}
    cases.append({"name": name, "inputs": [t(a) for a in inputs], "constants": [t(c) for c in constants],
                  "value": value.item(), "grads": [t(g) for g in grads], "v": [t(v) for v in vs],
                  "hvp": [t(h) for h in hvps]})


record("mlp", mlp, [leaf(3, 4), leaf(4, 2), leaf(2)])
record("logsumexp", logsumexp, [leaf(3, 5, lo=-3, hi=3)])
record("mixed", mixed, [leaf(2, 3, lo=-2, hi=2)])
labels = torch.nn.functional.one_hot(torch.tensor([2, 0, 1, 2]), 3).to(d)
record("cross_entropy", cross_entropy, [leaf(4, 3, lo=-2, hi=2)], [labels])

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grad_golden.json")
write_cases(path, {"generator": "tests/golden/make_grad_golden.py", "torch": torch.__version__}, cases)
print("wrote", path)
