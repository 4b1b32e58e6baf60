#!/usr/bin/env bash
# Session 4: the allocator per call (cuda_async with the batch-sized
# reserve vs BFC), SD 1.5 batch 8, the device loop's steps, SDXL; alternating.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
which nsys ncu 2>&1 | head -2
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
( python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors > /dev/null 2>&1 & )
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
b() { timeout 200 $SDGO bench "$@" 2>&1 | grep -v "opened\|images/s" | cut -c1-170; }
for i in 1 2; do
  echo "== SD1.5 batch 8, cuda_async"; measure b8a_$i b $A --what txt2img --batch-size 8 --iters 5; tail -1 $OUT/peak_mem.txt
  echo "== SD1.5 batch 8, bfc"; SDGO_XLA_ALLOCATOR=bfc measure b8b_$i b $A --what txt2img --batch-size 8 --iters 5; tail -1 $OUT/peak_mem.txt
done
for i in 1 2; do
  echo "== SD1.5 chain/unet, cuda_async"; b $A --what chain,unet --steps 20 --iters 10
  echo "== SD1.5 chain/unet, bfc"; SDGO_XLA_ALLOCATOR=bfc b $A --what chain,unet --steps 20 --iters 10
done
while [ ! -f $M/sdxl.safetensors ] || pgrep -f mkckpt > /dev/null; do sleep 2; done
for i in 1 2; do
  echo "== SDXL txt2img, cuda_async"; b $X --what txt2img --iters 5
  echo "== SDXL txt2img, bfc"; SDGO_XLA_ALLOCATOR=bfc b $X --what txt2img --iters 5
done
rm -f $OUT/mem_*.log
