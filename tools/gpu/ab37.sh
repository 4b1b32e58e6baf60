#!/usr/bin/env bash
# Session 7: XLA's command buffers built as a graph of dependencies
# (--xla_gpu_command_buffer_scheduling_mode=CONCURRENT: independent kernels
# may overlap on the GPU) against the default (LHS), alternating; parity.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 240 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s" | grep -v stages | cut -c1-200; }
V0=""; CC="--xla_gpu_command_buffer_scheduling_mode=CONCURRENT"
for v in V0 CC; do XLA_FLAGS="${!v}" b --what txt2img --iters 2 > /dev/null; done
for i in 1 2 3; do
  for v in V0 CC; do
    echo "-- $v round $i"
    XLA_FLAGS="${!v}" b --what chain,txt2img --iters 20
  done
done
for v in V0 CC; do echo "-- $v unet b16"; XLA_FLAGS="${!v}" b --what unet --batch 16 --iters 10; done
echo "== parity, tiny model, cuda f16, CC"
XLA_FLAGS="$CC" timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,vae_decode,txt2img 2>&1 | cut -c1-120 | grep -v "^ERROR"
