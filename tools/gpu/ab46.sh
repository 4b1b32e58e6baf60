#!/usr/bin/env bash
# Session 8: command buffers with remapped virtual addresses
# (--xla_gpu_enable_command_buffer_va_remapping, which this plugin knows:
# diag45.sh), alone and with temporary buffers in their own memory colour
# (--xla_gpu_temp_buffer_use_separate_color), against the default: chained
# steps, txt2img with the host's launch time per step, peak memory;
# alternating on one lease.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 200 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s" | grep -v "^[EW]11\|^\s\|^=\|^external" | cut -c1-240; }
V0=""; VA="--xla_gpu_enable_command_buffer_va_remapping=true"; VS="$VA --xla_gpu_temp_buffer_use_separate_color=true"
for v in V0 VA VS; do echo "-- warm $v"; XLA_FLAGS="${!v}" b --what chain --iters 1 | tail -2; done
for i in 1 2; do
  for v in V0 VA VS; do
    echo "-- $v round $i"
    XLA_FLAGS="${!v}" measure "t2i_${v}_$i" b --what chain,txt2img --iters 20; tail -1 $OUT/peak_mem.txt
  done
done
rm -f $OUT/mem_*.log
