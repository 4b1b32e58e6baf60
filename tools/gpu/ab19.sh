#!/usr/bin/env bash
# Session 6: the decoder queued behind the steps (sdgo0) against waiting
# for the steps first (sdgo), alternating: txt2img speed and peak memory
# (nvidia-smi every 20 ms); then batches of 24 and 32, and SDXL.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
exec > >(tee $OUT/log) 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -x $G/sdgo0 ] || gunzip -kf $G/sdgo0.gz
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
mem20() { # name cmd...: runs cmd with nvidia-smi every 20 ms, prints its last lines and the peak
  local name=$1; shift
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 20 > $OUT/mem20_$name.log 2>/dev/null &
  local p=$!; "$@" 2>&1 | grep -v opened | tail -1; kill $p
  echo "$name: peak $(sort -n $OUT/mem20_$name.log | tail -1) MiB, most common $(sort -n $OUT/mem20_$name.log | uniq -c | sort -rn | head -1)"
}
for v in sdgo0 sdgo; do timeout 200 $G/$v bench $A --what txt2img --iters 2 > /dev/null 2>&1; done
for i in 1 2 3; do
  for v in sdgo0 sdgo; do mem20 ${v}_$i timeout 200 $G/$v bench $A --what txt2img --iters 20; done
done
echo "== batch 24 / 32 (sdgo)"
timeout 250 $SDGO bench $A --what txt2img --batch-size 24 --iters 2 2>&1 | grep -v opened | tail -2
timeout 250 $SDGO bench $A --what txt2img --batch-size 32 --iters 2 2>&1 | grep -v opened | tail -2
echo "== SDXL (sdgo)"
[ -f $M/sdxl.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors > /dev/null 2>&1
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
mem20 sdxl timeout 250 $SDGO bench $X --what txt2img --iters 10
