#!/usr/bin/env bash
# Session 6: which first compile (empty autotune cache) took the GPU's whole
# memory in final20.sh: the VAE at batch 8, the UNet at batch 16, the CFG
# step graph at batch 8 images; memory every 20 ms, stderr kept.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
exec > >(tee $OUT/log) 2>&1
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for w in "vae --batch 8" "unet --batch 16" "chain --batch 16"; do
  n=$(echo $w | tr -d ' -')
  echo "== $w, empty autotune cache"
  SDGO_XLA_CACHE=off measure $n timeout 250 $SDGO bench $A --what $w --iters 2 > $OUT/$n.txt 2>&1
  echo "exit $?"; grep -v "^[a-z0-9]*  *0x" $OUT/$n.txt | grep -iv "^goroutine\|^\s" | head -12 | cut -c1-250; tail -1 $OUT/peak_mem.txt
done
