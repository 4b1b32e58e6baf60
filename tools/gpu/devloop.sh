#!/usr/bin/env bash
# Session 4: the sampler loop on the device (SDGO_DEVICE_STEPS=0 = host
# loop, alternating on one lease) and cold starts with the UNet and VAE
# compiled in parallel with the text encoder (SDGO_LOG=debug timings).
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
rm -rf ~/.cache/sdgo
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for l in empty warm1 warm2; do
  SDGO_LOG=debug fresh "SD1.5 $l" $OUT/c_$l.png $A
  tr '\r' '\n' < $OUT/fresh.log | grep -a -o "DEBUG.*" | cut -c1-160
done
SDGO_DEVICE_STEPS=0 fresh "SD1.5 warm, host loop" $OUT/c_host.png $A
python3 tools/gpu/pngdiff.py $OUT/c_host.png $OUT/c_warm2.png
b() { timeout 300 $SDGO bench "$@" 2>&1 | grep -v opened; }
for i in 1 2; do
  echo "== SD1.5 txt2img, device loop"; b $A --what txt2img --iters 10 | tail -3
  echo "== SD1.5 txt2img, host loop"; SDGO_DEVICE_STEPS=0 b $A --what txt2img --iters 10 | tail -3
done
echo "== SD1.5 DPM++ 2M, device loop"; b $A --what txt2img --sampler "DPM++ 2M" --iters 10 | tail -2
echo "== SD1.5 unet b2/b16"; b $A --what unet --iters 20 | tail -1; b $A --what unet --batch 16 --iters 10 | tail -1
echo "== SD1.5 batch 8, device loop"; measure b8 b $A --what txt2img --batch-size 8 --iters 5 | tail -3; tail -1 $OUT/peak_mem.txt
echo "== SD1.5 txt2img peak"; measure t2i b $A --what txt2img --iters 5 | tail -1; tail -1 $OUT/peak_mem.txt
python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
SDGO_LOG=debug fresh "SDXL, first" $OUT/x1.png $X
SDGO_LOG=debug fresh "SDXL, warm" $OUT/x2.png $X
tr '\r' '\n' < $OUT/fresh.log | grep -a -o "DEBUG.*" | cut -c1-160
echo "== SDXL txt2img, device loop"; measure xl b $X --what txt2img --iters 5 | tail -3; tail -1 $OUT/peak_mem.txt
echo "== SDXL txt2img, host loop"; SDGO_DEVICE_STEPS=0 b $X --what txt2img --iters 5 | tail -3
rm -f $OUT/mem_*.log $OUT/c_empty.png $OUT/c_warm1.png
