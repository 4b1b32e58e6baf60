#!/usr/bin/env bash
# Session 5: the VAE decoder queued behind the device loop's last steps
# (no round trip of the latents through the host) against decoding from
# host latents (SDGO_QUEUED_DECODE=0 in this experiment's build),
# alternating.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
timeout 200 $SDGO bench $A --what txt2img --iters 2 > /dev/null 2>&1
for i in 1 2 3; do
  for v in 0 1; do
    echo "-- SDGO_QUEUED_DECODE=$v round $i"
    SDGO_QUEUED_DECODE=$v timeout 200 $SDGO bench $A --what txt2img --iters 20 2>&1 | grep -v "opened\|images/s"
  done
done
SDGO_QUEUED_DECODE=1 timeout 200 $SDGO bench $A --what txt2img --batch-size 8 --iters 5 2>&1 | grep -v opened | tail -2
