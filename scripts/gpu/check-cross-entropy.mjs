#!/usr/bin/env node
// GPU check of the chunked output projection + cross-entropy with bf16 operands, whose weight gradient the GEMM adds
// chunk by chunk into one float32 sum (addmm's out_dtype, libtorch 2.9+ on CUDA; native/common/torch_compat.h):
//   - against float64 on the CPU from the same bf16-rounded hidden states and weights (the logits' gradient is
//     rounded to bf16 before its GEMMs, so agreement is at bf16 precision, not better);
//   - against the same op in one chunk (nothing accumulated across chunks).
// Run after `npm run build`: node scripts/gpu/check-cross-entropy.mjs [device]  (default cuda; cpu works, slowly).
// Prints one line per comparison, "ok" or "FAIL"; exits 1 if any failed.
import { Tensor, mulberry32 } from '../../dist/lib/index.js';
import { native } from '../../dist/lib/native.js';
import { check, exitWithChecks } from './check-report.mjs';
import { relError } from './relative-error.mjs';

const device = process.argv[2] ?? 'cuda';
const [rows, d, vocab, ignore] = [4096, 256, 1000, 0];
const r = mulberry32(3);
const hidden = Float32Array.from({ length: rows * d }, () => 2 * r() - 1);
const weight = Float32Array.from({ length: vocab * d }, () => (2 * r() - 1) * 0.2);
// Every seventh target ignored (id 0), so the chunks hold different numbers of scored rows.
const targets = BigInt64Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? 0n : BigInt(1 + Math.floor(r() * (vocab - 1)))));
// On each side's device: the op wants its targets where its hidden states are.
const [targetsCpu, targetsOnDevice] = [Tensor.from(targets, [rows]), Tensor.from(targets, [rows]).to({ device })];

function run(h, w, t, chunkRows) {
  const out = native().linearCrossEntropy(h.handle, w.handle, t.handle, ignore, chunkRows);
  const f64 = (handle) => Float64Array.from(new Tensor(handle).to({ dtype: 'float64', device: 'cpu' }).toTypedArray());
  return { loss: out.loss, gradHidden: f64(out.gradHidden), gradWeight: f64(out.gradWeight) };
}

const h16 = Tensor.from(hidden, [rows, d]).to({ dtype: 'bfloat16', device });
const w32 = Tensor.from(weight, [vocab, d]).to({ device });
// The reference sees exactly the values the bf16 GEMMs multiply.
const h64 = h16.to({ dtype: 'float64', device: 'cpu' });
const w64 = Tensor.from(weight, [vocab, d]).to({ dtype: 'bfloat16' }).to({ dtype: 'float64' });

const report = (label, err, bound) => check(label, err < bound, `relative error ${err.toExponential(2)} (bound ${bound})`);

const reference = run(h64, w64, targetsCpu, rows);
const chunked = run(h16, w32, targetsOnDevice, 512); // 8 chunks
const whole = run(h16, w32, targetsOnDevice, rows);
report(`loss, 8 chunks on ${device} (bf16) vs CPU float64`, Math.abs(chunked.loss - reference.loss) / reference.loss, 1e-3);
report(`weight gradient, 8 chunks on ${device} (bf16) vs CPU float64`, relError(chunked.gradWeight, reference.gradWeight), 2e-2);
report(`hidden gradient, 8 chunks on ${device} (bf16) vs CPU float64`, relError(chunked.gradHidden, reference.gradHidden), 2e-2);
report(`weight gradient, 8 chunks vs one chunk on ${device}`, relError(chunked.gradWeight, whole.gradWeight), 1e-2);
exitWithChecks();
