#!/usr/bin/env bash
# GPU diagnosis 5: Go execution trace of txt2img steps; UNet HLO profiled
# through JAX's XLA.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
timeout 120 $SDGO bench $A --what txt2img --iters 3 --steps 20 --sampler "DPM++ 2M" --trace $OUT/t2i.trace 2>&1 | grep -v opened | tail -2
if [ ! -d /tmp/dump ]; then
  XLA_FLAGS="--xla_dump_to=/tmp/dump --xla_dump_hlo_as_text --xla_dump_hlo_as_proto --xla_dump_hlo_pass_re=^$" timeout 150 $SDGO bench $A --what unet --iters 2 2>&1 | grep -v opened | tail -1
fi
F=$(ls /tmp/dump/*Runner*before_optimizations.txt | head -1)
timeout 240 python3 tools/gpu/hloprof.py $F /tmp/prof 2>&1 | grep -v "^W0\|^I0" | tail -120
