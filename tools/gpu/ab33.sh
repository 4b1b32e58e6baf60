#!/usr/bin/env bash
# Session 7: UNet skip connections as matrix products (sdgo) against 1x1
# convolutions (sdgo0), alternating on one lease: chained steps, txt2img,
# UNet batch 16, batch 8; the host time per execution from Go traces;
# tiny-model parity on cuda.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
[ -x $G/sdgo0 ] || gunzip -kf $G/sdgo0.gz
b() { local v=$1; shift; timeout 200 $G/$v bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s" | cut -c1-200; }
for v in sdgo0 sdgo; do b $v --what txt2img --iters 2 > /dev/null; done
for i in 1 2 3; do
  for v in sdgo0 sdgo; do
    echo "-- $v round $i"
    b $v --what chain,txt2img --iters 20
  done
done
for v in sdgo0 sdgo sdgo0 sdgo; do
  echo "-- $v unet b16"
  b $v --what unet --batch 16 --iters 10
done
for v in sdgo0 sdgo; do
  echo "-- $v trace"; b $v --what txt2img --iters 10 --trace $OUT/t_$v.trace
  echo "-- $v batch 8"; b $v --what txt2img --batch-size 8 --iters 3
done
echo "== parity, tiny model, cuda f16 (sdgo)"
timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,vae_decode,txt2img 2>&1 | cut -c1-140
