#!/usr/bin/env bash
# cuDNN fused attention (SDGO_FMHA=1, the default) against plain XLA attention
# (SDGO_FMHA=0), same binary, same card: tiny-model parity on cuda in f16,
# real-size SD 1.5 images compared pixel by pixel, UNet and txt2img timings.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name --format=csv,noheader
for f in 1 0; do
  SDGO_FMHA=$f timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,txt2img > $OUT/verify_f16_fmha$f.txt 2>&1
  echo "verify f16 fmha=$f: $(tail -1 $OUT/verify_f16_fmha$f.txt)"
done
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for f in 1 0; do
  SDGO_FMHA=$f timeout 120 $SDGO txt2img $A -p "a castle on a hill" -s 7 --steps 20 -o $OUT/img_fmha$f.png 2>&1 | tail -1
done
python3 tools/gpu/pngdiff.py $OUT/img_fmha1.png $OUT/img_fmha0.png
for i in 1 2; do
  for f in 0 1; do
    echo "== fmha=$f unet b2"; SDGO_FMHA=$f timeout 100 $SDGO bench $A --what unet --iters 30 2>&1 | grep -v opened | tail -1
  done
done
for f in 0 1; do
  echo "== fmha=$f unet b16"; SDGO_FMHA=$f measure b16_fmha$f timeout 100 $SDGO bench $A --what unet --batch 16 --iters 10 2>&1 | grep -v opened | tail -1
  echo "== fmha=$f txt2img"; SDGO_FMHA=$f measure t2i_fmha$f timeout 100 $SDGO bench $A --what txt2img --iters 10 2>&1 | grep -v opened | tail -2
done
cat $OUT/peak_mem.txt
