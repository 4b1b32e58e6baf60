#!/usr/bin/env bash
# GPU call: the numbers for docs/PERFORMANCE.md after the guided-CFG and
# channels-last changes: SD1.5 (512) and SDXL (1024), f16.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee $OUT/gpu.txt
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for s in "Euler a" "DPM++ 2M"; do
  measure "sd15_t2i_$s" timeout 120 $SDGO bench $A --what txt2img --iters 10 --steps 20 --sampler "$s" 2>&1 | grep -v opened | tail -3
done
timeout 150 $SDGO bench $A --what all --iters 20 --json $OUT/sd15_all.json 2>&1 | grep -v opened | grep -v stages
timeout 150 $SDGO bench $A --what txt2img --batch-size 8 --iters 5 2>&1 | grep -v opened | tail -3
python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
measure sdxl_t2i timeout 300 $SDGO bench $X --what txt2img --iters 5 --steps 20 2>&1 | grep -v opened | tail -3
timeout 150 $SDGO bench $X --what unet --iters 10 2>&1 | grep -v opened | tail -1
cat $OUT/peak_mem.txt
