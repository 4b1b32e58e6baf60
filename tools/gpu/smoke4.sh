#!/usr/bin/env bash
# Session 4, last binary: fresh processes and txt2img timings (async on/off).
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
fresh "SD1.5, first run" $OUT/c1.png $A
fresh "SD1.5, warm" $OUT/c2.png $A
SDGO_ASYNC=0 fresh "SD1.5, warm, SDGO_ASYNC=0" $OUT/c3.png $A
python3 tools/gpu/pngdiff.py $OUT/c2.png $OUT/c3.png
timeout 250 $SDGO bench $A --what txt2img,chain --steps 20 --iters 20 2>&1 | grep -v "opened\|images/s"
rm -f $OUT/c1.png
