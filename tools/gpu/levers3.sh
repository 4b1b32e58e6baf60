#!/usr/bin/env bash
# SD 1.5 on one card: one-pass norms (default in f16) vs SDGO_NORM_TWO_PASS=1,
# the parallel PNG encoder in txt2img, cuda_async allocator with a small
# reserve (does it cap or grow?), XLA's kernel cache for cold starts, and the
# tiny model's f16 errors on cuda.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
fresh "empty autotune cache" $OUT/fresh.png $A
fresh "warm autotune cache" $OUT/fresh.png $A
XLA_FLAGS=--xla_gpu_kernel_cache_file=/tmp/kc.bin fresh "kernel cache (being filled)" $OUT/fresh.png $A
XLA_FLAGS=--xla_gpu_kernel_cache_file=/tmp/kc.bin fresh "kernel cache (warm)" $OUT/fresh.png $A
fresh "warm autotune cache again" $OUT/fresh.png $A
ls -la /tmp/kc.bin 2>&1 | tail -1
for i in 1 2; do
  for n in 0 1; do
    echo "== SDGO_NORM_TWO_PASS=$n"
    SDGO_NORM_TWO_PASS=$n timeout 100 $SDGO bench $A --what txt2img --iters 10 2>&1 | grep -v opened | tail -2
  done
done
echo "== cuda_async reserve 0.03, batch 1 and 8; default batch 8"
P="SDGO_XLA_ALLOCATOR=cuda_async SDGO_XLA_PREALLOCATE=1 SDGO_XLA_MEMORY_FRACTION=0.03"
measure a1 env $P timeout 100 $SDGO bench $A --what txt2img --iters 10 2>&1 | grep -v opened | tail -1; tail -1 $OUT/peak_mem.txt
measure a8 env $P timeout 100 $SDGO bench $A --what txt2img --batch-size 8 --iters 5 2>&1 | grep -v opened | tail -2; tail -1 $OUT/peak_mem.txt
measure d8 timeout 100 $SDGO bench $A --what txt2img --batch-size 8 --iters 5 2>&1 | grep -v opened | tail -2; tail -1 $OUT/peak_mem.txt
timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,txt2img > $OUT/verify_f16.txt 2>&1; cat $OUT/verify_f16.txt | cut -c1-150
rm -f $OUT/mem_*.log
