#!/usr/bin/env bash
# GPU diagnosis 2: gaps between UNet calls in txt2img, the UNet's optimized
# HLO (tarred), per-kernel times from Nsight Compute.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
B="$SDGO bench --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
for s in "Euler a" "DPM++ 2M"; do
  timeout 120 $B --what txt2img --iters 10 --steps 20 --sampler "$s" 2>&1 | grep -v opened | tail -3
done
rm -rf $OUT/dump
XLA_FLAGS="--xla_dump_to=/tmp/dump --xla_dump_hlo_as_text --xla_dump_hlo_pass_re=^$" timeout 150 $B --what unet --iters 5 2>&1 | grep -v opened | tail -2
tar czf $OUT/dump.tgz -C /tmp dump
for f in "--xla_gpu_enable_cudnn_fmha=true" "--xla_gpu_enable_command_buffer=" ; do
  echo "== $f"; XLA_FLAGS="$f" timeout 100 $B --what unet --iters 20 2>&1 | grep -v opened | tail -2
done
NCU=/usr/local/cuda/bin/ncu
GODEBUG=asyncpreemptoff=1 timeout 240 $NCU --metrics gpu__time_duration.sum --csv --print-units base $B --what unet --iters 1 > $OUT/ncu.csv 2> $OUT/ncu.err
tail -3 $OUT/ncu.err; wc -l $OUT/ncu.csv
