#!/usr/bin/env bash
# Session 4, last binary: fresh processes (one with a two-chunk prompt, to
# see the UNet precompiled at 154 tokens once), txt2img, f16 parity.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
fresh "SD1.5, first run" $OUT/c1.png $A
fresh "SD1.5, warm" $OUT/c2.png $A
fresh "SD1.5, warm" $OUT/c3.png $A
LONG=$(for i in $(seq 20); do printf "a castle on a hill, "; done)
s=$EPOCHREALTIME
SDGO_LOG=debug timeout 150 $SDGO txt2img $A --prompt "$LONG" --seed 7 --steps 20 -o $OUT/long.png > $OUT/long.log 2>&1
echo "fresh process, 154-token prompt: $(awk "BEGIN{print $EPOCHREALTIME-$s}") s (exit $?)"
tr '\r' '\n' < $OUT/long.log | grep -a -o "DEBUG graph.*" | cut -c1-150
timeout 250 $SDGO bench $A --what txt2img --iters 20 2>&1 | grep -v opened | tail -2
timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,txt2img 2>&1 | cut -c1-120
rm -f $OUT/c1.png
