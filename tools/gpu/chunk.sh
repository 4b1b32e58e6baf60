#!/usr/bin/env bash
# A/B of query-chunked attention (sdgo) against the previous binary
# (sdgo_old): SD1.5 UNet b2 / b16 speed and peak memory, txt2img; SDXL
# txt2img peak memory with the new binary.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name --format=csv,noheader
[ -x $G/sdgo_old ] || gunzip -kf $G/sdgo_old.gz
python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
timeout 60 $G/sdgo_old bench $A --what unet --iters 3 > /dev/null 2>&1 # warm the autotune cache
for b in sdgo_old sdgo sdgo_old sdgo; do
  echo "== $b"; measure "${b}_b2" timeout 40 $G/$b bench $A --what unet --iters 30 2>&1 | grep -v opened | tail -1
done
for b in sdgo_old sdgo; do
  echo "== $b"; measure "${b}_b16" timeout 60 $G/$b bench $A --what unet --batch 16 --iters 10 2>&1 | grep -v opened | tail -1
  measure "${b}_t2i" timeout 60 $G/$b bench $A --what txt2img --iters 10 2>&1 | grep -v opened | tail -1
done
cat $OUT/peak_mem.txt
python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
measure sdxl_t2i timeout 150 $SDGO bench $X --what txt2img --iters 3 2>&1 | grep -v opened | tail -2
tail -1 $OUT/peak_mem.txt
