#!/usr/bin/env bash
# Session 9: the goals on an H200, the card the issue's reference figures
# (diffusers, JAX) were measured on: SD 1.5 txt2img at batch 1, 8, 16 and
# the UNet at batch 2 and 16, SDXL txt2img at 1024, peak memory.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
sdxl
b() { timeout 250 $SDGO bench "$@" 2>&1 | grep -v opened; }
echo "== warm"; b $A --what unet,chain --iters 1 | tail -2; b $A --what txt2img --batch-size 16 --iters 1 | tail -1
echo "== SD1.5 unet b2, b16, chain"; b $A --what unet,chain --iters 20 | tail -2; b $A --what unet --batch 16 --iters 10 | tail -1
for i in 1 2; do echo "-- txt2img round $i"; measure t1_$i b $A --what txt2img --iters 20 | tail -2; done
for i in 1 2; do echo "-- batch 16 round $i"; measure b16_$i b $A --what txt2img --batch-size 16 --iters 3 | tail -3; done
echo "-- batch 8"; measure b8 b $A --what txt2img --batch-size 8 --iters 5 | tail -3
wait_sdxl
echo "== SDXL"; measure xl b $X --what unet,txt2img --iters 10 | tail -4
cat $OUT/peak_mem.txt
rm -f $OUT/mem_*.log
