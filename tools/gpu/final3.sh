#!/usr/bin/env bash
# Session 3 defaults (fused attention, parallel PNG, cuda_async allocator
# with a per-model reserve) against the BFC allocator, on
# SD 1.5 and SDXL; fresh-process cold starts with empty and warm caches.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
rm -rf ~/.cache/sdgo
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
fresh "SD1.5, empty caches" $OUT/c1.png $A
fresh "SD1.5, warm caches" $OUT/c2.png $A
python3 tools/gpu/pngdiff.py $OUT/c1.png $OUT/c2.png
for i in 1 2; do
  for a in default bfc; do
    e=""; [ $a = bfc ] && e="SDGO_XLA_ALLOCATOR=bfc"
    echo "== SD1.5 allocator $a"
    measure sd_${a}_$i env $e timeout 100 $SDGO bench $A --what txt2img --iters 10 2>&1 | grep -v opened | tail -2; tail -1 $OUT/peak_mem.txt
  done
done
for a in default bfc; do
  e=""; [ $a = bfc ] && e="SDGO_XLA_ALLOCATOR=bfc"
  echo "== SD1.5 batch 8, allocator $a"
  measure sd8_$a env $e timeout 100 $SDGO bench $A --what txt2img --batch-size 8 --iters 5 2>&1 | grep -v opened | tail -2; tail -1 $OUT/peak_mem.txt
done
python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
for a in default bfc default; do
  e=""; [ $a = bfc ] && e="SDGO_XLA_ALLOCATOR=bfc"
  echo "== SDXL allocator $a"
  measure xl_$a env $e timeout 200 $SDGO bench $X --what txt2img --iters 5 2>&1 | grep -v opened | tail -2; tail -1 $OUT/peak_mem.txt
done
fresh "SDXL, warm caches" $OUT/x1.png $X
rm -f $OUT/mem_*.log
