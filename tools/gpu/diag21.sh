#!/usr/bin/env bash
# Session 6: why batch 8 crashed in final20.sh with a 75 GB peak: the same
# txt2img batch twice (empty, then warm autotune cache), all of stderr kept,
# memory every 20 ms; then the VAE alone at batch 8.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
exec > >(tee $OUT/log) 2>&1
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for i in 1 2; do
  echo "== txt2img batch 8, run $i"
  measure b8_$i timeout 250 $SDGO bench $A --what txt2img --batch-size 8 --iters 2 > $OUT/b8_$i.txt 2>&1
  echo "exit $?"; grep -v "^[a-z0-9]*  *0x" $OUT/b8_$i.txt | grep -v "^\s*$" | head -30; tail -1 $OUT/peak_mem.txt
  awk '{printf "%s ", $1} END {print ""}' $OUT/mem_b8_$i.log | tr ' ' '\n' | awk 'NR%10==0' | tr '\n' ' '; echo
done
echo "== vae batch 8"
measure vae8 timeout 250 $SDGO bench $A --what vae --batch 8 --iters 3 > $OUT/vae8.txt 2>&1; echo "exit $?"; tail -3 $OUT/vae8.txt; tail -1 $OUT/peak_mem.txt
echo "== unet batch 16"
measure unet16 timeout 250 $SDGO bench $A --what unet --batch 16 --iters 3 > $OUT/unet16.txt 2>&1; echo "exit $?"; tail -2 $OUT/unet16.txt; tail -1 $OUT/peak_mem.txt
