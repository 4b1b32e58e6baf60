#!/usr/bin/env bash
# Session 5: how often the device loop copies latents back for callbacks
# (SDGO_STEP_SYNC steps between rounds; every copy waits for all queued
# steps), alternating; Euler (no noise upload) and the chained-steps bench
# for reference.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
timeout 200 $SDGO bench $A --what txt2img --iters 2 > /dev/null 2>&1
for i in 1 2; do
  for k in 1 4 20; do
    echo "-- SDGO_STEP_SYNC=$k round $i"
    SDGO_STEP_SYNC=$k timeout 200 $SDGO bench $A --what txt2img --iters 20 2>&1 | grep -v "opened\|images/s"
  done
  echo "-- Euler, SDGO_STEP_SYNC=20, and chain"
  SDGO_STEP_SYNC=20 timeout 200 $SDGO bench $A --what txt2img,chain --sampler Euler --iters 20 2>&1 | grep -v "opened\|images/s"
done
