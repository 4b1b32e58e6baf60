#!/usr/bin/env bash
# A/B of the runner's cached-weights path (sdgo) against the previous
# binary (sdgo_old) on the same card: UNet b2 and txt2img.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name --format=csv,noheader
[ -x $G/sdgo_old ] || gunzip -kf $G/sdgo_old.gz
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for i in 1 2; do
  for b in sdgo_old sdgo; do
    echo "== $b"; timeout 100 $G/$b bench $A --what unet --iters 30 2>&1 | grep -v opened | tail -1
  done
done
for b in sdgo_old sdgo; do
  echo "== $b"; timeout 100 $G/$b bench $A --what txt2img --iters 10 2>&1 | grep -v opened | tail -2
done
