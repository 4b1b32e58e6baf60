#!/usr/bin/env bash
# Session 5, first look: where the rest of a txt2img goes (bench's new
# "other" stage, a Go trace), per-kernel GPU profiles with XLA's optimized
# HLO (SD 1.5 UNet b2 and b16, VAE decode b1), then XLA flag variants of
# the UNet b2 call, alternating.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
b() { timeout 200 $SDGO bench "$@" 2>&1 | grep -v opened; }
echo "== txt2img"; b $A --what txt2img --iters 10 | tail -3
b $A --what txt2img --iters 5 --trace $OUT/t2i.trace | tail -2
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
prof unet_b2 $A --what unet --batch 2
prof unet_b16 $A --what unet --batch 16
prof vae_b1 $A --what vae --batch 1
echo "== XLA flag variants, UNet b2 and b16"
for i in 1 2; do
  for f in "" --xla_gpu_enable_cudnn_layer_norm=true --xla_gpu_cudnn_gemm_fusion_level=2 --xla_gpu_triton_gemm_any=true; do
    echo "-- [$f]"
    XLA_FLAGS="$f" b $A --what unet,chain --batch 2 --iters 30 | grep -v stages | tail -2
  done
done
