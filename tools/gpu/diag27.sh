#!/usr/bin/env bash
# Session 7: where SD 1.5 txt2img's time beyond the chained steps goes
# (stage medians), with the allocator pool's reserve raised and Go's GC
# relaxed, alternating; folded upsampling under a cuDNN workspace limit
# with an empty autotune cache; XLA flags at UNet batch 16.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
PL=/opt/torch/.venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so
strings $PL | grep -o -- '--xla_[a-z0-9_]*' | sort -u > $OUT/xla_flags.txt
wc -l $OUT/xla_flags.txt
b() { timeout 200 $SDGO bench $A "$@" 2>&1 | grep -v opened | cut -c1-230; }
for lim in 1024 256; do
  echo "== VAE b8 folded, TF_CUDNN_WORKSPACE_LIMIT_IN_MB=$lim, empty autotune cache"
  SDGO_XLA_CACHE=off SDGO_FOLD_UPSAMPLE=1 TF_CUDNN_WORKSPACE_LIMIT_IN_MB=$lim measure vae8fold$lim b --what vae --batch 8 --iters 5
  tail -1 $OUT/peak_mem.txt
  grep -c "cuMemAllocAsync failed" $OUT/log
done
b --what txt2img --iters 2 > /dev/null
for i in 1 2; do
  for f in "" 0.0300 0.0320; do
    echo "-- SDGO_XLA_MEMORY_FRACTION=$f round $i"
    SDGO_XLA_MEMORY_FRACTION=$f measure frac${f}_$i b --what txt2img,chain,vae --batch 1 --iters 20
    tail -1 $OUT/peak_mem.txt
  done
  for g in 400 off; do
    echo "-- GOGC=$g round $i"
    GOGC=$g b --what txt2img,chain --batch 1 --iters 20
  done
done
for fl in "" --xla_gpu_cublas_fallback=false --xla_gpu_experimental_enable_fusion_block_level_rewriter=true --xla_gpu_enable_triton_gemm=false; do
  n=${fl%%=*}
  if [ -n "$fl" ] && ! grep -q -- "^$n\$" $OUT/xla_flags.txt; then echo "== $fl: not in this XLA"; continue; fi
  echo "== UNet b16, XLA_FLAGS=$fl"
  XLA_FLAGS="$fl" b --what unet --batch 16 --iters 10 | tail -2
  XLA_FLAGS="$fl" b --what chain --batch 2 --iters 10 | tail -1
done
