#!/usr/bin/env bash
# GPU call C: where a txt2img's time goes, cold start, and XLA flag levers.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
B="$SDGO bench --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
echo "== default flags"
measure sd15_t2i timeout 200 $B --what txt2img --iters 10 --steps 20 --json $OUT/t2i_default.json
echo "== cold start: fresh process, prompt to PNG, 20 steps"
/usr/bin/time -f "cold start wall %e s, max RSS %M KB" timeout 200 $SDGO txt2img --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --prompt "a cat" --steps 20 -W 512 -H 512 --seed 1 -o $OUT/cold.png 2>&1 | grep -v sampling | tail -3
echo "== autotune level 0"
XLA_FLAGS=--xla_gpu_autotune_level=0 timeout 200 $B --what unet --batch 2 --iters 20
cat $OUT/peak_mem.txt
