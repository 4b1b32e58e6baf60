#!/usr/bin/env bash
# GPU diagnosis 3: sampler gaps after the buffer reuse, UNet with
# channels-last kernels, its HLO profiled through JAX's XLA.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
B="$SDGO bench --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
rm -rf /tmp/dump
XLA_FLAGS="--xla_dump_to=/tmp/dump --xla_dump_hlo_as_text --xla_dump_hlo_as_proto --xla_dump_hlo_pass_re=^$" timeout 150 $B --what unet --iters 20 2>&1 | grep -v opened | tail -2
tar czf $OUT/dump.tgz -C /tmp dump
for s in "Euler a" "DPM++ 2M"; do
  timeout 120 $B --what txt2img --iters 10 --steps 20 --sampler "$s" 2>&1 | grep -v opened | tail -2
done
F=$(ls /tmp/dump/*Runner*before_optimizations.txt | head -1)
timeout 200 python3 tools/gpu/hloprof.py $F /tmp/prof 2>&1 | grep -v "^W0\|^I0" | tail -120
