#!/usr/bin/env bash
# XLA's dot-merger pass (merges the q/k/v projections that share an input by
# concatenating their weights on every call): on vs off.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
OFF="--xla_disable_hlo_passes=dot-merger"
b() { XLA_FLAGS="$1" timeout 150 $SDGO bench "${@:2}" 2>&1 | grep -v opened | tail -1; }
for i in 1 2; do
  echo "== merger on";  b "" $A --what unet --iters 30
  echo "== merger off"; b "$OFF" $A --what unet --iters 30
done
echo "== b16 on";  b "" $A --what unet --batch 16 --iters 10
echo "== b16 off"; b "$OFF" $A --what unet --batch 16 --iters 10
echo "== txt2img off"; XLA_FLAGS="$OFF" timeout 150 $SDGO bench $A --what txt2img --iters 10 2>&1 | grep -v opened | tail -2
python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
echo "== SDXL on";  b "" $X --what unet --iters 10
echo "== SDXL off"; b "$OFF" $X --what unet --iters 10
echo "== SDXL txt2img off"; XLA_FLAGS="$OFF" timeout 200 $SDGO bench $X --what txt2img --iters 5 2>&1 | grep -v opened | tail -2
