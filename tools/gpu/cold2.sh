#!/usr/bin/env bash
# Cold start with the autotune cache warm: XLA's parallel LLVM compilation
# flags on and off (alternating), exit codes and image equality checked.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda -W 512 -H 512"
fresh() { # label png [XLA_FLAGS]
  local s=$EPOCHREALTIME
  XLA_FLAGS="${3:-}" timeout 150 $SDGO txt2img $A --prompt "a castle on a hill" --seed 7 --steps 20 -o $2 > $OUT/fresh.log 2>&1
  local rc=$?
  echo "$1: $(awk "BEGIN{print $EPOCHREALTIME-$s}") s (exit $rc)"
  [ $rc = 0 ] || tail -3 $OUT/fresh.log
}
fresh "empty caches" $OUT/ref.png
P1="--xla_gpu_enable_llvm_module_compilation_parallelism=true"
P2="$P1 --xla_gpu_force_compilation_parallelism=16"
for i in 1 2; do
  fresh "warm, default" $OUT/d$i.png
  fresh "warm, llvm module parallelism" $OUT/p$i.png "$P1"
  fresh "warm, + force parallelism 16" $OUT/q$i.png "$P2"
done
for f in d2 p2 q2; do python3 tools/gpu/pngdiff.py $OUT/ref.png $OUT/$f.png; done
