#!/usr/bin/env bash
# Session 4 record, part 1 (SD 1.5): cold starts, bench --what all, batch
# 16 / 8, the host loop as the baseline, and the f16 parity run on cuda.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
rm -rf ~/.cache/sdgo
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
( [ -f $M/sdxl.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors > /dev/null 2>&1 & )
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
fresh "SD1.5, empty caches" $OUT/c1.png $A
fresh "SD1.5, autotune cache warm" $OUT/c2.png $A
fresh "SD1.5, autotune cache warm" $OUT/c3.png $A
b() { timeout 250 $SDGO bench "$@" 2>&1 | grep -v opened; }
echo "== SD1.5 all"; measure sd15_all b $A --what all --iters 20 --json $OUT/bench_sd15.json | tail -6; tail -1 $OUT/peak_mem.txt
echo "== SD1.5 txt2img, host loop"; SDGO_DEVICE_STEPS=0 b $A --what txt2img --iters 20 | tail -2
echo "== SD1.5 txt2img"; measure sd15_t2i b $A --what txt2img --iters 20 | tail -2; tail -1 $OUT/peak_mem.txt
echo "== SD1.5 unet b16"; b $A --what unet --batch 16 --iters 10 | tail -1
echo "== SD1.5 txt2img batch 8"; measure sd15_b8 b $A --what txt2img --batch-size 8 --iters 5 | tail -3; tail -1 $OUT/peak_mem.txt
timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,txt2img 2>&1 | cut -c1-120
rm -f $OUT/mem_*.log
