#!/usr/bin/env bash
# Session 5, last binary on another lease: SD 1.5 txt2img four times, the
# chained-steps bench, batches of 8 and 16.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
b() { timeout 250 $SDGO bench "$@" 2>&1 | grep -v opened; }
timeout 200 $SDGO bench $A --what txt2img --iters 2 > /dev/null 2>&1
for i in 1 2 3 4; do b $A --what txt2img,chain --iters 20 | grep -v "images/s"; done
echo "== batch 8"; b $A --what txt2img --batch-size 8 --iters 5 | tail -3
echo "== batch 16"; b $A --what txt2img --batch-size 16 --iters 3 | tail -3
