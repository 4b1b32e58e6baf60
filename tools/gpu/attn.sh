#!/usr/bin/env bash
# Attention formulations (SDGO_ATTN) on the SD1.5 UNet and VAE.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
for v in "" defer f16; do
  echo "== SDGO_ATTN=$v"
  SDGO_ATTN=$v timeout 150 $SDGO bench --model $M/sd15.safetensors --backend cuda --dtype f16 -W 512 -H 512 --what unet --batch 2 --iters 20 | grep -v opened
  SDGO_ATTN=$v timeout 150 $SDGO bench --model $M/sd15.safetensors --backend cuda --dtype f16 -W 512 -H 512 --what unet --batch 16 --iters 10 | grep -v opened
done
