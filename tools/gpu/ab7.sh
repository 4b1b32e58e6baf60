#!/usr/bin/env bash
# Session 5 A/B on one lease: the session-4 binary (.gpu/sdgo_old.gz, commit
# 4fe04f0) against this session's (GroupNorm in runs, time embedding in the
# norm, joined cross-attention K/V, prompts in one encoder call, 8-bit
# conversion on the device), alternating; then a kernel profile of the new
# UNet b2.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -x $G/sdgo_old ] || gunzip -kf $G/sdgo_old.gz
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for bin in sdgo_old sdgo; do timeout 200 $G/$bin bench $A --what txt2img --iters 2 > /dev/null 2>&1; done # autotune caches
for i in 1 2; do
  for bin in sdgo_old sdgo; do
    echo "-- $bin round $i"
    B=$G/$bin
    timeout 200 $B bench $A --what unet,chain,vae --batch 2 --iters 30 2>&1 | grep -v opened | grep -v stages
    timeout 200 $B bench $A --what unet --batch 16 --iters 10 2>&1 | grep -v opened | tail -1
    measure t2i_${bin}_$i timeout 200 $B bench $A --what txt2img --iters 20 2>&1 | grep -v opened | tail -3; tail -1 $OUT/peak_mem.txt
    measure b8_${bin}_$i timeout 200 $B bench $A --what txt2img --batch-size 8 --iters 5 2>&1 | grep -v opened | tail -3; tail -1 $OUT/peak_mem.txt
  done
done
rm -rf /tmp/dump /tmp/prof /tmp/jdump
XLA_FLAGS="--xla_dump_to=/tmp/dump --xla_dump_hlo_as_text --xla_dump_hlo_as_proto --xla_dump_hlo_pass_re=^$" timeout 150 $SDGO bench $A --what unet --batch 2 --iters 2 2>&1 | tail -1
F=$(ls -S /tmp/dump/*before_optimizations.txt | head -1)
XLA_FLAGS="--xla_dump_to=/tmp/jdump --xla_dump_hlo_as_text --xla_disable_hlo_passes=dot-merger" timeout 200 python3 tools/gpu/hloprof.py $F /tmp/prof > $OUT/prof_b2.txt 2>&1
grep "median-ish\|GPU events" $OUT/prof_b2.txt
cp "$(ls -S /tmp/jdump/*after_optimizations.txt | head -1)" $OUT/opt_b2.txt && gzip -f $OUT/opt_b2.txt
cp /tmp/prof_kernels.tsv $OUT/kernels_b2.tsv
rm -f $OUT/mem_*.log
