#!/usr/bin/env bash
# Cold start, real-size image parity of the fused attention, XLA allocator
# choices (SDGO_XLA_ALLOCATOR) for peak memory and speed, and SDXL with the
# fused attention. One GPU call; the autotune cache starts empty.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for run in cold warm; do
  s=$EPOCHREALTIME
  timeout 120 $SDGO txt2img $A --prompt "a castle on a hill" --seed 7 --steps 20 -o $OUT/img_fmha1.png > /dev/null 2>&1
  echo "fresh process to first image ($run autotune cache): $(awk "BEGIN{print $EPOCHREALTIME-$s}") s"
done
SDGO_FMHA=0 timeout 120 $SDGO txt2img $A --prompt "a castle on a hill" --seed 7 --steps 20 -o $OUT/img_fmha0.png > /dev/null 2>&1
python3 tools/gpu/pngdiff.py $OUT/img_fmha1.png $OUT/img_fmha0.png
for a in default cuda_async platform; do
  echo "== allocator $a"
  SDGO_XLA_ALLOCATOR=$a measure t2i_$a timeout 100 $SDGO bench $A --what txt2img --iters 10 2>&1 | grep -v opened | tail -2
  tail -1 $OUT/peak_mem.txt
done
SDGO_XLA_ALLOCATOR=cuda_async measure b8_async timeout 100 $SDGO bench $A --what txt2img --batch-size 8 --iters 5 2>&1 | grep -v opened | tail -2
tail -1 $OUT/peak_mem.txt
python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
for a in default cuda_async; do
  echo "== SDXL allocator $a"
  SDGO_XLA_ALLOCATOR=$a measure xl_$a timeout 200 $SDGO bench $X --what txt2img --iters 5 2>&1 | grep -v opened | tail -2
  tail -1 $OUT/peak_mem.txt
done
echo "== SDXL unet b2 fmha=1/0"
timeout 150 $SDGO bench $X --what unet --iters 10 2>&1 | grep -v opened | tail -1
SDGO_FMHA=0 timeout 150 $SDGO bench $X --what unet --iters 10 2>&1 | grep -v opened | tail -1
