#!/usr/bin/env bash
# GPU call B: tiny-model f16/bf16 errors on cuda, then a real-size SDXL
# checkpoint with random weights: load, bench at 1024x1024.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
for dt in f16 bf16; do
  timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype $dt --kinds text_encoder,unet,vae_decode,vae_encode,txt2img 2>&1 | awk '{print $1, $2, $3, $4, $5}' | sed "s/^/$dt /"
done
python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors && du -h $M/sdxl.safetensors
measure sdxl_f16 timeout 400 $SDGO bench --model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 --what all --batch 2 -W 1024 -H 1024 --iters 10 --steps 20 --json $OUT/bench_sdxl_f16.json
measure sdxl_bf16 timeout 200 $SDGO bench --model $M/sdxl.safetensors --backend cuda --dtype bf16 --what unet --batch 2 -W 1024 -H 1024 --iters 10 --json $OUT/bench_sdxl_bf16.json
cat $OUT/peak_mem.txt
