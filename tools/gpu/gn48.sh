#!/usr/bin/env bash
# Session 9: GroupNorm statistics reduced per channel first, then per group
# (SDGO_GN_EXP=kc: the variance pass then has the mean pass's shape, which
# XLA runs at twice the bandwidth), against the current two-stage sums;
# UNet and VAE at batch 16, chained steps, txt2img batch 16, alternating on
# one lease; batch 32 throughput; kernel profiles of the VAE decoder at
# batch 16 and of the variant's UNet at batch 16 (hloprof.py, roofline.py).
# An experiment build: SDGO_GN_EXP (in nn.GroupNormAdd) was not kept (no
# faster); `| head -9` cuts roofline.py's output short (a BrokenPipe trace
# follows in the log).
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 250 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s"; }
for v in "" kc; do echo "-- warm '$v'"; SDGO_GN_EXP=$v b --what unet,vae --batch 16 --iters 1 | tail -2; SDGO_GN_EXP=$v b --what chain --iters 1 | tail -1; done
for i in 1 2; do
  for v in "" kc; do
    echo "-- '$v' round $i"
    SDGO_GN_EXP=$v b --what unet,vae --batch 16 --iters 10 | tail -2
    SDGO_GN_EXP=$v b --what chain --iters 10 | tail -1
  done
done
for i in 1 2; do
  for v in "" kc; do
    echo "-- txt2img batch 16 '$v' round $i"; SDGO_GN_EXP=$v measure b16_$v$i b --what txt2img --batch-size 16 --iters 3 | tail -2
  done
done
echo "-- txt2img batch 32"; measure b32 b --what txt2img --batch-size 32 --iters 2 | tail -2; tail -1 $OUT/peak_mem.txt
echo "== parity, tiny model, cuda f16, kc"
SDGO_GN_EXP=kc timeout 100 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,vae_decode,txt2img 2>&1 | cut -c1-120 | grep -v "^ERROR"
prof() { # prof NAME VAR=VALUE BENCH-ARGS...: dump the largest module, profile it through JAX
  local name=$1 var=$2; shift 2
  rm -rf /tmp/dump /tmp/prof /tmp/jdump
  env "$var" XLA_FLAGS="--xla_dump_to=/tmp/dump --xla_dump_hlo_as_text --xla_dump_hlo_as_proto --xla_dump_hlo_pass_re=^$" SDGO_XLA_CACHE=off timeout 100 $SDGO bench $A "$@" --iters 1 2>&1 | tail -1
  local f=$(ls -S /tmp/dump/*before_optimizations.txt | head -1)
  XLA_FLAGS="--xla_dump_to=/tmp/jdump --xla_dump_hlo_as_text --xla_disable_hlo_passes=dot-merger" timeout 120 python3 tools/gpu/hloprof.py $f /tmp/prof > /tmp/prof_$name.txt 2>&1
  grep "median-ish\|GPU events" /tmp/prof_$name.txt
  cp /tmp/prof_kernels.tsv $OUT/kernels_$name.tsv
  cp "$(ls -S /tmp/jdump/*after_optimizations.txt | head -1)" $OUT/opt_$name.txt && gzip -f $OUT/opt_$name.txt
  python3 tools/gpu/roofline.py <(zcat $OUT/opt_$name.txt.gz) $OUT/kernels_$name.tsv | head -9
}
echo "== VAE decoder b16 profile"; prof vae_b16 SDGO_GN_EXP= --what vae --batch 16
echo "== UNet b16 profile, kc"; prof unet_kc SDGO_GN_EXP=kc --what unet --batch 16
rm -f $OUT/mem_*.log
