#!/usr/bin/env bash
# Session 6: the VAE decoder at batch 8 compiled with an empty autotune
# cache, session 5's binary (sdgo0) against this session's folded
# upsampling (sdgo): memory every 20 ms, the allocator's complaints counted.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
exec > >(tee $OUT/log) 2>&1
[ -x $G/sdgo0 ] || gunzip -kf $G/sdgo0.gz
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for v in sdgo0 sdgo sdgo0; do
  echo "== $v vae batch 8, empty autotune cache"
  SDGO_XLA_CACHE=off measure $v timeout 250 $G/$v bench $A --what vae --batch 8 --iters 2 > $OUT/$v.txt 2>&1
  echo "exit $?"; grep -c "failed to allocate" $OUT/$v.txt; grep "failed to allocate" $OUT/$v.txt | head -3 | cut -c1-160; grep "^vae" $OUT/$v.txt; tail -1 $OUT/peak_mem.txt
done
