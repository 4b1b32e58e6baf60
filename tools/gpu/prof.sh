#!/usr/bin/env bash
# GPU call G: a Go CPU profile of txt2img steps on the GPU (host-side overhead).
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
timeout 200 $SDGO bench --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512 --what txt2img --iters 10 --steps 20 --cpuprofile $OUT/t2i.prof 2>&1 | grep -v opened
