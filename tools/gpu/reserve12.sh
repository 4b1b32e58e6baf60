#!/usr/bin/env bash
# Session 5: does the VAE decode (and the txt2img) wait on the allocator?
# The default reserve (weights + 320 MiB, fraction ~0.0281 of this card)
# against slightly larger ones, alternating, with peak memory.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
timeout 200 $SDGO bench $A --what txt2img --iters 2 > /dev/null 2>&1
for i in 1 2; do
  for f in default 0.0300 0.0320; do
    echo "-- reserve $f round $i"
    if [ $f = default ]; then unset SDGO_XLA_MEMORY_FRACTION; else export SDGO_XLA_MEMORY_FRACTION=$f; fi
    measure r_${f}_$i timeout 200 $SDGO bench $A --what txt2img,vae --batch 1 --iters 20 2>&1 | grep -v "opened\|images/s"; tail -1 $OUT/peak_mem.txt
  done
done
rm -f $OUT/mem_*.log
