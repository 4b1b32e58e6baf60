#!/usr/bin/env bash
# Session 6: txt2img with the text-encoder cache (same prompt each call)
# against --new-prompts, alternating; where the peak GPU memory comes from
# (XLA's memory report of the VAE decoder graph, 20 ms samples of the VAE
# and the chained steps alone); batches of 8 and 16.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
exec > >(tee $OUT/log) 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
b() { timeout 200 $SDGO bench "$@" 2>&1 | grep -v opened; }
b $A --what txt2img --iters 2 > /dev/null
for i in 1 2 3; do
  echo "-- round $i: same prompt (cached), new prompts"
  b $A --what txt2img --iters 20 | tail -2
  b $A --what txt2img --iters 20 --new-prompts | tail -2
done
b $A --what chain --iters 20 | tail -1
echo "== memory"
rm -rf /tmp/d; XLA_FLAGS="--xla_dump_to=/tmp/d --xla_dump_hlo_pass_re=^$" b $A --what vae --batch 1 --iters 1 | tail -1
R=$(ls -S /tmp/d/*memory-usage-report.txt | head -1); echo "-- $R"; head -40 $R
mem20() { # name cmd...: peak of 20 ms samples
  local name=$1; shift
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 20 > $OUT/mem20_$name.log 2>/dev/null &
  local p=$!; "$@" > /dev/null 2>&1; kill $p
  echo "$name: peak $(sort -n $OUT/mem20_$name.log | tail -1) MiB, most common $(sort -n $OUT/mem20_$name.log | uniq -c | sort -rn | head -1)"
}
mem20 vae_b1 timeout 200 $SDGO bench $A --what vae --batch 1 --iters 20
mem20 chain timeout 200 $SDGO bench $A --what chain --iters 10
mem20 text timeout 200 $SDGO bench $A --what text --iters 20
mem20 txt2img timeout 200 $SDGO bench $A --what txt2img --iters 10
echo "== batch 8 / 16"
b $A --what txt2img --batch-size 8 --iters 5 | tail -2
b $A --what txt2img --batch-size 16 --iters 3 | tail -2
