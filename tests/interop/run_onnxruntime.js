// Runs an ONNX model in ONNX Runtime (the npm package onnxruntime-node, CPU) on float32 .npy
// inputs and writes its outputs as output_0.npy, output_1.npy, ... in OUT_DIR.
// Usage: node run_onnxruntime.js MODEL OUT_DIR INPUT.npy...   (inputs in the model's order)
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function readNpy(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file} is not a .npy file`);
  const major = bytes[6];
  const start = major === 1 ? 10 : 12;
  const length = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const header = bytes.toString('latin1', start, start + length);
  if (!header.includes("'descr': '<f4'") || !header.includes("'fortran_order': False")) {
    throw new Error(`${file}: only little-endian float32 in C order is read, got ${header}`);
  }
  const dims = header.match(/'shape': \(([^)]*)\)/)[1].split(',').map((d) => d.trim()).filter((d) => d).map(Number);
  const data = bytes.subarray(start + length);
  // A copy: the file's buffer may not be aligned for a Float32Array.
  return new ort.Tensor('float32', new Float32Array(Uint8Array.from(data).buffer), dims);
}

function writeNpy(file, tensor) {
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(prefix);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
}

async function main() {
  const [model, outDir, ...inputs] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  if (inputs.length !== session.inputNames.length) {
    throw new Error(`the model takes ${session.inputNames.length} inputs, got ${inputs.length}`);
  }
  const feeds = {};
  session.inputNames.forEach((name, i) => { feeds[name] = readNpy(inputs[i]); });
  const results = await session.run(feeds);
  session.outputNames.forEach((name, i) => writeNpy(path.join(outDir, `output_${i}.npy`), results[name]));
}

main().catch((error) => {
  console.error(`run_onnxruntime: ${error.message}`);
  process.exit(1);
});
