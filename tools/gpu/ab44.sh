#!/usr/bin/env bash
# Session 8: GroupNorm statistics in one pass over the activation (per-run
# sums and sums of squares combined as Chan et al.; SDGO_GN_ONEPASS=1)
# against two passes: chained steps, txt2img, UNet b16, batch 8, alternating
# on one lease; tiny-model parity on cuda for both. An experiment build:
# SDGO_GN_ONEPASS (nn.runMoments) was not kept (no faster).
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 250 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s"; }
for v in 0 1; do echo "-- warm $v"; SDGO_GN_ONEPASS=$v b --what chain --iters 1 | tail -1; SDGO_GN_ONEPASS=$v b --what unet --batch 16 --iters 1 | tail -1; done
for i in 1 2; do
  for v in 0 1; do
    echo "-- $v round $i"
    SDGO_GN_ONEPASS=$v b --what chain,txt2img --iters 20
    SDGO_GN_ONEPASS=$v b --what unet --batch 16 --iters 10 | tail -1
    SDGO_GN_ONEPASS=$v b --what txt2img --batch-size 8 --iters 4 | tail -1
  done
done
for v in 0 1; do
  echo "== parity, tiny model, cuda f16, one pass $v"
  SDGO_GN_ONEPASS=$v timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,vae_decode,vae_encode,txt2img 2>&1 | cut -c1-120 | grep -v "^ERROR"
done
