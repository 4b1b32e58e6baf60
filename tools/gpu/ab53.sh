#!/usr/bin/env bash
# Session 9: what the server's batch jobs lose to the allocator. `sdgo serve`
# loads models with the batch-1 pool reserve (model.Options.Images unset),
# while bench and the CLI size it for their batch. Batches 4 and 8 with the
# batch-1 reserve (SDGO_XLA_MEMORY_FRACTION=0.029: SD 1.5's weights plus
# 320 MiB on an 80 GB card) against their own, alternating on one lease.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 250 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s"; }
echo "== warm"; for n in 4 8; do b --what txt2img --batch-size $n --iters 1 | tail -1; done
for i in 1 2; do
  for n in 4 8; do
    echo "-- batch $n round $i: own reserve"; measure own$n$i b --what txt2img --batch-size $n --iters 5 | tail -2
    echo "-- batch $n round $i: batch-1 reserve"; SDGO_XLA_MEMORY_FRACTION=0.029 measure one$n$i b --what txt2img --batch-size $n --iters 5 | tail -2
  done
done
cat $OUT/peak_mem.txt
rm -f $OUT/mem_*.log
