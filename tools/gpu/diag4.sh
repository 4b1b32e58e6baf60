#!/usr/bin/env bash
# GPU diagnosis 4: channels-last kernels vs the previous binary on the same
# card, sampler gaps, and the UNet HLO profiled through JAX's XLA.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name --format=csv,noheader
[ -x $G/sdgo_old ] || gunzip -kf $G/sdgo_old.gz
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for i in 1 2; do
  for b in sdgo_old sdgo; do
    echo "== $b"; timeout 100 $G/$b bench $A --what unet --iters 30 2>&1 | grep -v opened | tail -1
  done
done
timeout 100 $G/sdgo bench $A --what unet --batch 16 --iters 10 2>&1 | grep -v opened | tail -1
timeout 100 $G/sdgo_old bench $A --what unet --batch 16 --iters 10 2>&1 | grep -v opened | tail -1
for s in "Euler a" "DPM++ 2M"; do
  timeout 120 $SDGO bench $A --what txt2img --iters 10 --steps 20 --sampler "$s" 2>&1 | grep -v opened | tail -2
done
rm -rf /tmp/dump
XLA_FLAGS="--xla_dump_to=/tmp/dump --xla_dump_hlo_as_text --xla_dump_hlo_as_proto --xla_dump_hlo_pass_re=^$" timeout 150 $SDGO bench $A --what unet --iters 2 2>&1 | grep -v opened | tail -1
ls /tmp/dump | grep before_opt
F=$(ls /tmp/dump/*Runner*before_optimizations.txt | head -1)
timeout 200 python3 tools/gpu/hloprof.py $F /tmp/prof 2>&1 | grep -v "^W0\|^I0" | tail -120
