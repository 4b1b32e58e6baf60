#!/usr/bin/env bash
# Session 3 record: every number in docs/PERFORMANCE.md "Session 3" from one
# machine and one binary (fused attention, strip PNG encoder, cuda_async
# allocator with a per-model reserve), plus SDGO_FMHA=0 as the baseline.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
rm -rf ~/.cache/sdgo
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
fresh "SD1.5, empty caches" $OUT/c1.png $A
fresh "SD1.5, autotune cache warm" $OUT/c2.png $A
b() { timeout 200 $SDGO bench "$@" 2>&1 | grep -v opened | tail -2; }
echo "== SD1.5 all"; measure sd15_all timeout 200 $SDGO bench $A --what all --iters 20 --json $OUT/bench_sd15.json 2>&1 | grep -v opened | tail -6
tail -1 $OUT/peak_mem.txt
echo "== SD1.5 unet b16"; b $A --what unet --batch 16 --iters 10
echo "== SD1.5 txt2img batch 8"; measure sd15_b8 b $A --what txt2img --batch-size 8 --iters 5; tail -1 $OUT/peak_mem.txt
echo "== SD1.5 txt2img, SDGO_FMHA=0"; SDGO_FMHA=0 b $A --what txt2img --iters 10
echo "== SD1.5 txt2img"; measure sd15_t2i b $A --what txt2img --iters 10; tail -1 $OUT/peak_mem.txt
python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
echo "== SDXL unet b2"; b $X --what unet --iters 10
echo "== SDXL txt2img"; measure sdxl_t2i b $X --what txt2img --iters 5; tail -1 $OUT/peak_mem.txt
fresh "SDXL, autotune cache warm" $OUT/x1.png $X
timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,txt2img 2>&1 | cut -c1-110
rm -f $OUT/mem_*.log
