#!/usr/bin/env bash
# Session 6: session 5's binary (sdgo0) against the folded upsampling
# convolutions and the padded VAE conv_out (sdgo), alternating on one lease:
# UNet b2, chained steps, VAE b2, txt2img; then UNet b16, batch 8, peak memory.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
exec > >(tee $OUT/log) 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -x $G/sdgo0 ] || gunzip -kf $G/sdgo0.gz
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for v in sdgo0 sdgo; do timeout 200 $G/$v bench $A --what txt2img --iters 2 > /dev/null 2>&1; done
for i in 1 2 3; do
  for v in sdgo0 sdgo; do
    echo "-- $v round $i"
    timeout 200 $G/$v bench $A --what unet,chain,vae,txt2img --batch 2 --iters 20 2>&1 | grep -v opened
  done
done
for v in sdgo0 sdgo; do
  echo "-- $v b16 / batch 8"
  timeout 200 $G/$v bench $A --what unet --batch 16 --iters 10 2>&1 | grep -v opened | tail -1
  timeout 200 $G/$v bench $A --what txt2img --batch-size 8 --iters 4 2>&1 | grep -v opened | tail -2
done
SDGO=$G/sdgo measure new timeout 200 $G/sdgo bench $A --what txt2img --iters 5 > /dev/null 2>&1
SDGO=$G/sdgo0 measure old timeout 200 $G/sdgo0 bench $A --what txt2img --iters 5 > /dev/null 2>&1
cat $OUT/peak_mem.txt
