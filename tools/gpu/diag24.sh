#!/usr/bin/env bash
# Session 6: the folded upsampling convolutions' first compile at batch 8
# (VAE) and 16 (UNet) with an empty autotune cache, per SDGO_FOLD_UPSAMPLE:
# one 2x2 convolution of 4x the channels (default), none (0), four
# convolutions of x's size (phases); peak memory every 20 ms, the
# allocator's failed workspace requests counted, VAE b2 and UNet b2 speed.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
exec > >(tee $OUT/log) 2>&1
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for mode in 0 phases default; do
  for w in "vae --batch 8" "unet --batch 16"; do
    n=$mode$(echo $w | tr -d ' -')
    echo "== SDGO_FOLD_UPSAMPLE=$mode $w, empty autotune cache"
    SDGO_FOLD_UPSAMPLE=$mode SDGO_XLA_CACHE=off measure $n timeout 250 $SDGO bench $A --what $w --iters 3 > $OUT/$n.txt 2>&1
    echo "exit $?, $(grep -c 'failed to allocate' $OUT/$n.txt) failed allocations"; grep "^vae\|^unet" $OUT/$n.txt; tail -1 $OUT/peak_mem.txt
  done
  SDGO_FOLD_UPSAMPLE=$mode timeout 250 $SDGO bench $A --what vae,unet --batch 2 --iters 20 2>&1 | grep "^vae\|^unet"
done
