#!/usr/bin/env bash
# Session 4: executions queued without waiting (xlaasync) against
# SDGO_ASYNC=0, SD 1.5, alternating on one lease; images compared.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
rm -rf ~/.cache/sdgo
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
( [ -f $M/sdxl.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors > /dev/null 2>&1 & )
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
fresh "SD1.5, empty caches" $OUT/c1.png $A
fresh "SD1.5, warm" $OUT/c2.png $A
SDGO_ASYNC=0 fresh "SD1.5, warm, SDGO_ASYNC=0" $OUT/c3.png $A
python3 tools/gpu/pngdiff.py $OUT/c2.png $OUT/c3.png
b() { timeout 250 $SDGO bench "$@" 2>&1 | grep -v "opened\|images/s" | cut -c1-200; }
for i in 1 2; do
  echo "== async"; b $A --what txt2img,chain --steps 20 --iters 20
  echo "== SDGO_ASYNC=0"; SDGO_ASYNC=0 b $A --what txt2img,chain --steps 20 --iters 20
done
echo "== host loop"; SDGO_DEVICE_STEPS=0 b $A --what txt2img --iters 20
echo "== async, peak"; measure t2i b $A --what txt2img --iters 20 | tail -1; tail -1 $OUT/peak_mem.txt
echo "== async batch 8"; measure b8 b $A --what txt2img --batch-size 8 --iters 5; tail -1 $OUT/peak_mem.txt
echo "== SDGO_ASYNC=0 batch 8"; SDGO_ASYNC=0 b $A --what txt2img --batch-size 8 --iters 5
timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,txt2img 2>&1 | cut -c1-120
rm -f $OUT/mem_*.log $OUT/c1.png
