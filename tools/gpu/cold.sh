#!/usr/bin/env bash
# Cold start: a fresh process to its first PNG, without and with XLA's
# persistent autotune and kernel caches (second run reuses them).
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
run() { /usr/bin/time -f "$1: wall %e s" timeout 200 $SDGO txt2img --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --prompt "a cat" --steps 20 -W 512 -H 512 --seed 1 -o $OUT/$2.png 2>&1 | grep -v "^sampling" | tail -4; }
export XLA_FLAGS="--xla_gpu_per_fusion_autotune_cache_dir=/tmp/xla_autotune"
run "autotune cache, first" c1
run "autotune cache, second" c2
du -sh /tmp/xla_autotune 2>/dev/null
