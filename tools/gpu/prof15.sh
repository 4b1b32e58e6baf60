#!/usr/bin/env bash
# Session 6, first look: per-kernel GPU profiles of session 5's binary
# (SD 1.5 UNet b16, VAE decode b1), then XLA GEMM flag variants of the UNet
# b2 chained steps and b16 call, each with its own empty autotune cache.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
b() { timeout 200 $SDGO bench "$@" 2>&1 | grep -v opened; }
prof() { # name bench-args...
  local name=$1; shift
  rm -rf /tmp/dump /tmp/prof /tmp/jdump
  XLA_FLAGS="--xla_dump_to=/tmp/dump --xla_dump_hlo_as_text --xla_dump_hlo_as_proto --xla_dump_hlo_pass_re=^$" timeout 150 $SDGO bench "$@" --iters 2 2>&1 | grep -v opened | tail -1
  F=$(ls -S /tmp/dump/*before_optimizations.txt | head -1)
  XLA_FLAGS="--xla_dump_to=/tmp/jdump --xla_dump_hlo_as_text --xla_disable_hlo_passes=dot-merger" timeout 200 python3 tools/gpu/hloprof.py $F /tmp/prof > $OUT/prof_$name.txt 2>&1
  grep "median-ish\|GPU events" $OUT/prof_$name.txt
  cp "$(ls -S /tmp/jdump/*after_optimizations.txt | head -1)" $OUT/opt_$name.txt && gzip -f $OUT/opt_$name.txt
  cp /tmp/prof_kernels.tsv $OUT/kernels_$name.tsv 2>/dev/null
}
prof unet_b16 $A --what unet --batch 16
prof vae_b1 $A --what vae --batch 1
echo "== XLA GEMM flag variants (own autotune cache each)"
for f in "" --xla_gpu_enable_split_k_autotuning=false --xla_gpu_enable_triton_gemm=false --xla_gpu_exhaustive_tiling_search=true; do
  echo "-- [$f]"
  SDGO_XLA_CACHE=off XLA_FLAGS="$f" b $A --what chain,unet --batch 2 --iters 30 | grep -v stages | tail -2
  SDGO_XLA_CACHE=off XLA_FLAGS="$f" b $A --what unet --batch 16 --iters 10 | grep -v stages | tail -1
done
