#!/usr/bin/env bash
# Session 7: XLA's command buffers (CUDA graphs) are updated on every
# execution by default (ALWAYS_UPDATE), which costs host time per step;
# SKIP_TEMP keeps temporary buffers at stable addresses (VMM allocator) so
# the graphs need no update. Per variant: three images of one process
# (checksums, must match the default's), timings, peak memory, a Go trace.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 200 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s" | cut -c1-200; }
b --what txt2img --iters 2 > /dev/null
V0=""
S1="--xla_gpu_command_buffer_update_mode=SKIP_TEMP"
S2="--xla_gpu_command_buffer_update_mode=SKIP_TEMP --xla_gpu_enable_command_buffer_va_remapping=true"
for i in 1 2; do
  for v in V0 S1 S2; do
    fl="${!v}"
    echo "-- $v ($fl) round $i"
    if [ $i = 1 ]; then
      rm -rf /tmp/img_$v; mkdir -p /tmp/img_$v
      XLA_FLAGS="$fl" timeout 200 $SDGO txt2img $A --prompt "a castle on a hill" --seed 7 --steps 20 --batch-count 3 -o /tmp/img_$v/ > /tmp/img_$v.log 2>&1
      echo "txt2img exit $?: $(cd /tmp/img_$v && md5sum *.png | cut -c1-12 | tr '\n' ' ')"; grep -i -E "warn|error|vmm" /tmp/img_$v.log | head -3 | cut -c1-200
      XLA_FLAGS="$fl" measure $v b --what txt2img,chain --iters 20; tail -1 $OUT/peak_mem.txt
      XLA_FLAGS="$fl" b --what txt2img --iters 10 --trace $OUT/t_$v.trace
    else
      XLA_FLAGS="$fl" b --what txt2img,chain --iters 20
    fi
  done
done
for v in S1 S2; do cmp -s <(cd /tmp/img_V0 && md5sum *.png) <(cd /tmp/img_$v && md5sum *.png) && echo "$v images identical to V0" || echo "$v images DIFFER from V0"; done
rm -f $OUT/mem_*.log
