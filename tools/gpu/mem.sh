#!/usr/bin/env bash
# GPU call F: batch-1 memory and txt2img after the overhead fixes, SD1.5 and SDXL.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
which nsys ncu 2>/dev/null
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
measure sd15_txt2img_b1 timeout 200 $SDGO bench --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512 --what txt2img --iters 10 --steps 20 --json $OUT/sd15_t2i.json
measure sd15_unet_b1 timeout 200 $SDGO bench --model $M/sd15.safetensors --backend cuda --dtype f16 -W 512 -H 512 --what unet --batch 1 --iters 10
[ -f $M/sdxl.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors
measure sdxl_txt2img_b1 timeout 300 $SDGO bench --model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024 --what txt2img --iters 5 --steps 20 --json $OUT/sdxl_t2i.json
cat $OUT/peak_mem.txt
