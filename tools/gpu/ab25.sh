#!/usr/bin/env bash
# Session 6: the final binary's txt2img with folding off (the default)
# against SDGO_FOLD_UPSAMPLE=1, alternating on one lease, with the chained
# steps for the lease's speed.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
exec > >(tee $OUT/log) 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for f in "" 1; do SDGO_FOLD_UPSAMPLE=$f timeout 200 $SDGO bench $A --what txt2img --iters 2 > /dev/null 2>&1; done
for i in 1 2 3; do
  for f in "" 1; do
    echo "-- SDGO_FOLD_UPSAMPLE=$f round $i"
    SDGO_FOLD_UPSAMPLE=$f timeout 200 $SDGO bench $A --what txt2img,chain --iters 20 2>&1 | grep "^txt2img  \|^chain"
  done
done
