#!/usr/bin/env bash
# bf16 with the fused attention: does cuDNN take it (no fallback warning),
# its speed against SDGO_FMHA=0, and the tiny model's bf16 errors on cuda.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype bf16 -W 512 -H 512"
for f in 1 0 1; do
  echo "== bf16 SDGO_FMHA=$f"
  SDGO_FMHA=$f timeout 150 $SDGO bench $A --what unet --iters 20 > $OUT/b.log 2>&1; echo "exit $?"
  grep -i "warn\|error" $OUT/b.log | head -3; grep "^unet" $OUT/b.log
done
timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype bf16 --kinds unet,txt2img 2>&1 | cut -c1-110
