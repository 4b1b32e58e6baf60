#!/usr/bin/env bash
# Session 7: XLA flags against the host's launch cost and the GPU time of a
# step: cuDNN convolution fusions (convolutions as cuDNN graphs, which XLA
# can put in its CUDA graphs; by default each convolution runs outside
# them and splits the step's graph) and programmatic dependent launch;
# variants alternate; Go traces for the host time per execution; parity.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 240 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s" | grep -v "^[EW]11\|^\s\|^=\|^external" | cut -c1-200; }
V0=""; CF="--xla_gpu_experimental_enable_conv_fusion=true"; PDL="--xla_gpu_enable_pdl_launch=true"; BOTH="$CF $PDL"
for v in V0 CF PDL BOTH; do echo "-- warm $v"; XLA_FLAGS="${!v}" b --what chain,unet --batch 2 --iters 2 | tail -2; done
for i in 1 2; do
  for v in V0 CF PDL BOTH; do
    echo "-- $v round $i"
    XLA_FLAGS="${!v}" b --what chain,txt2img --iters 20
  done
done
for v in V0 CF PDL BOTH; do
  echo "-- $v unet b16, trace"
  XLA_FLAGS="${!v}" b --what unet --batch 16 --iters 10
  XLA_FLAGS="${!v}" b --what txt2img --iters 10 --trace $OUT/t_$v.trace | tail -1
done
for v in CF BOTH; do
  echo "== parity, tiny model, cuda f16, $v"
  XLA_FLAGS="${!v}" timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,vae_decode,txt2img 2>&1 | cut -c1-120 | grep -v "^ERROR"
done
