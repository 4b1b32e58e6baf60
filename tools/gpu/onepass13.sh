#!/usr/bin/env bash
# Session 5: GroupNorm statistics in one pass (the sum and the sum of
# squares of x minus the group's first value, SDGO_GN_ONEPASS=1 in this
# experiment's build) against two passes, alternating.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for v in 0 1; do SDGO_GN_ONEPASS=$v timeout 200 $SDGO bench $A --what txt2img --iters 2 > /dev/null 2>&1; done
for i in 1 2; do
  for v in 0 1; do
    echo "-- SDGO_GN_ONEPASS=$v round $i"
    SDGO_GN_ONEPASS=$v timeout 200 $SDGO bench $A --what chain,vae,txt2img --batch 2 --iters 20 2>&1 | grep -v "opened\|images/s"
    SDGO_GN_ONEPASS=$v timeout 200 $SDGO bench $A --what unet --batch 16 --iters 10 2>&1 | grep -v opened | tail -1
  done
done
SDGO_GN_ONEPASS=1 timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,txt2img 2>&1 | cut -c1-120
