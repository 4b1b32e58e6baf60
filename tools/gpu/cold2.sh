#!/usr/bin/env bash
# Cold start with the autotune cache warm: XLA's parallel LLVM compilation
# flags on and off (alternating), exit codes and image equality checked.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
A="--model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda -W 512 -H 512"
fresh "empty caches" $OUT/ref.png $A
P1="--xla_gpu_enable_llvm_module_compilation_parallelism=true"
P2="$P1 --xla_gpu_force_compilation_parallelism=16"
for i in 1 2; do
  fresh "warm, default" $OUT/d$i.png $A
  XLA_FLAGS="$P1" fresh "warm, llvm module parallelism" $OUT/p$i.png $A
  XLA_FLAGS="$P2" fresh "warm, + force parallelism 16" $OUT/q$i.png $A
done
for f in d2 p2 q2; do python3 tools/gpu/pngdiff.py $OUT/ref.png $OUT/$f.png; done
