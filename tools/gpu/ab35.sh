#!/usr/bin/env bash
# Session 7: programmatic dependent launch (--xla_gpu_enable_pdl_launch:
# a kernel may start its prologue while the previous one finishes) against
# the default, alternating four rounds; batch 8; parity with it on.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 240 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s" | cut -c1-200; }
V0=""; PDL="--xla_gpu_enable_pdl_launch=true"
for v in V0 PDL; do XLA_FLAGS="${!v}" b --what txt2img --iters 2 > /dev/null; done
for i in 1 2 3 4; do
  for v in V0 PDL; do
    echo "-- $v round $i"
    XLA_FLAGS="${!v}" b --what chain,txt2img --iters 20 | grep -v stages
  done
done
for v in V0 PDL V0 PDL; do
  echo "-- $v batch 8"
  XLA_FLAGS="${!v}" b --what txt2img --batch-size 8 --iters 3 | grep -v stages
done
echo "== parity, tiny model, cuda f16, PDL"
XLA_FLAGS="$PDL" timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,vae_decode,txt2img 2>&1 | cut -c1-120 | grep -v "^ERROR"
