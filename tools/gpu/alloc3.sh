#!/usr/bin/env bash
# Session 4: per-call cost of the allocator for SD 1.5 at batch 1: cuda_async
# with the batch-1 reserve (default), with a 1.6x reserve, and BFC;
# alternating four times; peak memory of a txt2img run each.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
b() { timeout 200 $SDGO bench "$@" 2>&1 | grep -v "opened\|images/s\|stages" | cut -c1-110; }
for i in 1 2 3 4; do
  echo "== default"; measure def_$i b $A --what unet,chain,txt2img --steps 20 --iters 10; tail -1 $OUT/peak_mem.txt
  echo "== reserve x1.6"; SDGO_XLA_MEMORY_FRACTION=0.045 measure big_$i b $A --what unet,chain,txt2img --steps 20 --iters 10; tail -1 $OUT/peak_mem.txt
  echo "== bfc"; SDGO_XLA_ALLOCATOR=bfc measure bfc_$i b $A --what unet,chain,txt2img --steps 20 --iters 10; tail -1 $OUT/peak_mem.txt
done
rm -f $OUT/mem_*.log
