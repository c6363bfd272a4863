#!/usr/bin/env python3
"""Checks an ONNX file with ONNX's reference checker, as strictly as it goes: the model, then
shape inference with type checks and errors raised (onnx.checker.check_model(full_check=True)).
Prints the opset and the operators used; exits non-zero with the checker's message otherwise.

Usage: check_onnx.py MODEL.onnx"""
import sys

import onnx

model = onnx.load(sys.argv[1])
onnx.checker.check_model(model, full_check=True)
opsets = ",".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import)
print(f"ok opset {opsets} operators {' '.join(sorted({n.op_type for n in model.graph.node}))}")
