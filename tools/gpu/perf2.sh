#!/usr/bin/env bash
# GPU call D: txt2img after the noise/PNG fixes, batch-1 memory, and
# persistent XLA caches for cold start.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
[ -f $M/sd15.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
B="$SDGO bench --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 512 -H 512"
measure sd15_t2i_b1 timeout 200 $B --what txt2img --iters 10 --steps 20 --json $OUT/t2i_after.json
export XLA_FLAGS="--xla_gpu_per_fusion_autotune_cache_dir=/tmp/xla_autotune --xla_gpu_kernel_cache_file=/tmp/xla_kernels.bin --xla_gpu_enable_llvm_module_compilation_parallelism=true"
for i in 1 2; do
  /usr/bin/time -f "cold start $i (XLA caches): wall %e s" timeout 200 $SDGO txt2img --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --prompt "a cat" --steps 20 -W 512 -H 512 --seed 1 -o $OUT/cold$i.png 2>&1 | grep -v "^sampling" | tail -4
done
ls -la /tmp/xla_autotune 2>/dev/null | head -3; ls -la /tmp/xla_kernels.bin 2>/dev/null
cat $OUT/peak_mem.txt
