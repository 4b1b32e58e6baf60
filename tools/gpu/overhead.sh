#!/usr/bin/env bash
# Sampler overhead per step with and without per-step noise.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
for s in "Euler a" "DPM++ 2M"; do
  echo "== $s"
  timeout 150 $SDGO bench --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512 --what txt2img --iters 10 --steps 20 --sampler "$s" 2>&1 | grep -v opened
done
