// Package cudnn puts cuDNN's fused (flash) attention into GoMLX graphs that
// run on XLA's CUDA backend.
//
// XLA's GPU compiler turns a StableHLO custom call named
// "__cudnn$fmhaSoftmax" into one cuDNN flash-attention kernel: softmax(Q K^T
// * scale) V without ever writing the [B, H, Lq, Lk] logits to memory. JAX
// emits that call for jax.nn.dot_product_attention(implementation="cudnn").
// GoMLX 0.26 has no custom-call operation, so this package adds one to the
// StableHLO program GoMLX is building: it creates an ordinary node of the
// result's shape (a transpose of q) and rewrites the statement behind it
// into the custom call, reaching GoMLX's and go-xla's unexported fields with
// reflection. Available reports whether those fields are where this code
// expects them (a GoMLX upgrade that moves them turns the fused path off
// instead of breaking graphs); the tests pin that.
//
// Measured on an H100 with JAX (tools/gpu/fmha_probe.py): SD 1.5's
// self-attention at 4096 tokens, batch 2, 8 heads of 40, took 1.12 ms as
// plain XLA attention and 0.16 ms as this call.
//
// It imports GoMLX's graph and dtypes packages, go-xla's stablehlo package
// and unexported; it never imports sdgo's nn, model or anything above them.
package cudnn
