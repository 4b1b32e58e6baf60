#!/usr/bin/env bash
# Session 8: XLA's Triton GEMMs for every dot (--xla_gpu_triton_gemm_any),
# which may fuse elementwise producers such as GEGLU's product into the
# following matrix product, at the batch sizes where the UNet is GPU-bound
# (UNet b16, txt2img batch 8); variants alternate on one lease.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 280 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s"; }
V0=""; TA="--xla_gpu_triton_gemm_any=true"
for v in V0 TA; do echo "-- warm $v"; XLA_FLAGS="${!v}" b --what unet --batch 16 --iters 2 | tail -1; done
for i in 1 2; do
  for v in V0 TA; do
    echo "-- $v round $i"
    XLA_FLAGS="${!v}" b --what unet --batch 16 --iters 10 | tail -1
    XLA_FLAGS="${!v}" b --what txt2img --batch-size 8 --iters 4 | tail -1
  done
done
for v in V0 TA; do echo "-- $v chain b2"; XLA_FLAGS="${!v}" b --what chain --iters 20 | tail -1; done
