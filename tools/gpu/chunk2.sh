#!/usr/bin/env bash
# Query-chunked attention with 1 GiB chunks: SD1.5 UNet b2 and b16 speed
# and peak memory.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
measure b2 timeout 60 $SDGO bench $A --what unet --iters 30 2>&1 | grep -v opened | tail -1
measure b16 timeout 60 $SDGO bench $A --what unet --batch 16 --iters 10 2>&1 | grep -v opened | tail -1
cat $OUT/peak_mem.txt
