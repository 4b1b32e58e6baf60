#!/usr/bin/env bash
# Session 7: txt2img sampling against the chained steps, by sampler (Euler a
# draws noise every step, Euler and DPM++ 2M do not), for the binary before
# (sdgo0) and after (sdgo) the noise stream kept two draws ready,
# alternating; a Go execution trace of Euler a txt2img.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
[ -x $G/sdgo0 ] || gunzip -kf $G/sdgo0.gz
b() { local v=$1; shift; timeout 200 $G/$v bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s" | cut -c1-200; }
b sdgo --what txt2img --iters 2 > /dev/null
for i in 1 2 3; do
  for v in sdgo0 sdgo; do
    echo "-- $v round $i, Euler a"
    b $v --what txt2img,chain --iters 20
  done
done
for s in "Euler" "DPM++ 2M"; do
  for v in sdgo0 sdgo; do
    echo "-- $v, $s"
    b $v --what txt2img --sampler "$s" --iters 20
  done
done
echo "-- trace, Euler a"
b sdgo --what txt2img --iters 5 --trace $OUT/t2i.trace
ls -la $OUT
