#!/usr/bin/env bash
# Session 4 record, part 2 (SDXL 1024): UNet, txt2img against the
# previous defaults (XLA's dot-merger pass on; executions waited for),
# peak memory, fresh processes.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
while pgrep -f mkckpt > /dev/null; do sleep 2; done
[ -f $M/sdxl.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
b() { timeout 250 $SDGO bench "$@" 2>&1 | grep -v opened; }
fresh "SDXL, first" $OUT/x1.png $X
fresh "SDXL, warm" $OUT/x2.png $X
echo "== SDXL unet b2"; b $X --what unet --iters 10 | tail -1
for i in 1 2; do
  echo "== SDXL txt2img"; measure sdxl_t2i_$i b $X --what txt2img --iters 10 | tail -3; tail -1 $OUT/peak_mem.txt
  echo "== SDXL txt2img, dot-merger on"; XLA_FLAGS="--xla_disable_hlo_passes=" b $X --what txt2img --iters 10 | tail -2
  echo "== SDXL txt2img, SDGO_ASYNC=0"; SDGO_ASYNC=0 b $X --what txt2img --iters 10 | tail -2
done
rm -f $OUT/mem_*.log
