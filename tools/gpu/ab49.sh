#!/usr/bin/env bash
# Session 9: does the allocator cost batch 16 its time? sdgo's cuda_async
# pool keeps a reserve sized for the job's batch (gpuReserve) and returns
# what a call uses beyond it at each synchronisation; the same HLO run from
# JAX (BFC, preallocated) took 34.7 ms at batch 16 against sdgo's 38-39 ms,
# and the VAE decoder 94 ms against 121-127 ms. Default against a 0.5 card
# reserve (cuda_async) and against BFC, alternating on one lease: txt2img
# batch 16, UNet and VAE at batch 16, and txt2img at batch 1.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 250 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s"; }
run() { # run LABEL VAR=VALUE: one round of every measurement with VAR set
  local label=$1 var=$2
  echo "-- $label"
  ( export "$var"
    b --what unet,vae --batch 16 --iters 10 | grep median
    measure "t16_$label" b --what txt2img --batch-size 16 --iters 3 | tail -2
    b --what txt2img --iters 10 | tail -1 )
}
echo "== warm (compile and autotune)"; b --what unet,vae --batch 16 --iters 1 | tail -2; b --what txt2img --batch-size 16 --iters 1 | tail -1; b --what txt2img --iters 1 | tail -1
for i in 1 2; do
  run default$i SDGO_NOTHING=
  run frac$i SDGO_XLA_MEMORY_FRACTION=0.5
  run bfc$i SDGO_XLA_ALLOCATOR=bfc
done
cat $OUT/peak_mem.txt
rm -f $OUT/mem_*.log
