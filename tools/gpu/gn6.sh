#!/usr/bin/env bash
# Session 5: GroupNorm statistics summed in runs (SDGO_GN_ROWS, default 64)
# and the time embedding added inside the norm, against the old two-pass
# norm (SDGO_GN=old), alternating; then txt2img and the VAE with a larger
# allocator reserve; then a kernel profile of the new UNet b2.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
b() { timeout 200 $SDGO bench "$@" 2>&1 | grep -v opened; }
v() { # label env...
  local l=$1; shift
  echo "-- $l"
  env "$@" $SDGO bench $A --what unet,chain,vae --batch 2 --iters 30 2>&1 | grep -v opened | grep -v stages
  env "$@" $SDGO bench $A --what unet --batch 16 --iters 10 2>&1 | grep -v opened | tail -1
}
for i in 1 2; do
  v old SDGO_GN=old
  v rows64 SDGO_GN_ROWS=64
  v rows32 SDGO_GN_ROWS=32
done
echo "== txt2img"
for i in 1 2; do
  measure t2i_$i b $A --what txt2img --iters 20 | tail -2; tail -1 $OUT/peak_mem.txt
  SDGO_XLA_MEMORY_FRACTION=0.05 measure t2i_frac_$i b $A --what txt2img,vae --batch 1 --iters 20 | tail -3; tail -1 $OUT/peak_mem.txt
done
rm -rf /tmp/dump /tmp/prof /tmp/jdump
XLA_FLAGS="--xla_dump_to=/tmp/dump --xla_dump_hlo_as_text --xla_dump_hlo_as_proto --xla_dump_hlo_pass_re=^$" timeout 150 $SDGO bench $A --what unet --batch 2 --iters 2 2>&1 | tail -1
F=$(ls -S /tmp/dump/*before_optimizations.txt | head -1)
XLA_FLAGS="--xla_dump_to=/tmp/jdump --xla_dump_hlo_as_text --xla_disable_hlo_passes=dot-merger" timeout 200 python3 tools/gpu/hloprof.py $F /tmp/prof > $OUT/prof_b2.txt 2>&1
grep "median-ish\|GPU events" $OUT/prof_b2.txt
cp "$(ls -S /tmp/jdump/*after_optimizations.txt | head -1)" $OUT/opt_b2.txt && gzip -f $OUT/opt_b2.txt
cp /tmp/prof_kernels.tsv $OUT/kernels_b2.tsv
rm -f $OUT/mem_*.log
