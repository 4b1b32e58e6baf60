#!/usr/bin/env bash
# Session 8: small convolutions as matrix products (SDGO_IM2COL_MAX output
# positions), so they stay inside XLA's CUDA graphs: 0 (none), 128 (SD 1.5
# 8x8 at batch 2), 512 (16x16), 2048 (32x32); chained steps, txt2img with the
# host's launch time per step, UNet b16, batch 8; variants alternate on one
# lease; parity on the tiny model. An experiment build: SDGO_IM2COL_MAX
# (nn.Scope.Im2ColMax) was not kept (GPU time rose more than host time fell).
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 250 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s"; }
for v in 0 128 512 2048; do echo "-- warm $v"; SDGO_IM2COL_MAX=$v b --what chain --iters 2 | tail -1; done
for i in 1 2; do
  for v in 0 128 512 2048; do
    echo "-- $v round $i"
    SDGO_IM2COL_MAX=$v b --what chain,txt2img --iters 20
  done
done
for v in 0 512 2048; do
  echo "-- $v unet b16, batch 8"
  SDGO_IM2COL_MAX=$v b --what unet --batch 16 --iters 10 | tail -1
  SDGO_IM2COL_MAX=$v b --what txt2img --batch-size 8 --iters 5 | tail -1
done
for v in 512 2048; do
  echo "== parity, tiny model, cuda f16, $v"
  SDGO_IM2COL_MAX=$v timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,txt2img 2>&1 | cut -c1-120 | grep -v "^ERROR"
done
