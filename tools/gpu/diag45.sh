#!/usr/bin/env bash
# Session 8: which XLA flags this plugin knows about command buffers and
# temporary buffers, and, where it knows one, persistent temporary buffers
# (a step's temp allocation kept across executions, so the CUDA graphs that
# use it need no update) against the default: chained steps, txt2img with
# the host's launch time per step, peak memory; alternating on one lease.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
P=$(ls /opt/torch/.venv/lib/python3.12/site-packages/jax_plugins/xla_cuda*/xla_cuda_plugin.so | head -1)
strings $P | grep -oE "xla_gpu_[a-z0-9_]*(persist|temp|command_buffer|graph)[a-z0-9_]*" | sort -u
strings $P | grep -iE "update_mode|SKIP_TEMP|persistent temp" | cut -c1-200 | sort -u | head -12
b() { timeout 250 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s"; }
F=""
strings $P | grep -q "^xla_gpu_enable_persistent_temp_buffers$" && F="--xla_gpu_enable_persistent_temp_buffers=true"
[ -z "$F" ] && strings $P | grep -q "xla_gpu_enable_persistent_temp_buffers" && F="--xla_gpu_enable_persistent_temp_buffers=true"
if [ -n "$F" ]; then
  V0=""; PT="$F"
  for v in V0 PT; do echo "-- warm $v"; XLA_FLAGS="${!v}" b --what chain --iters 1 | tail -1; done
  for i in 1 2; do
    for v in V0 PT; do
      echo "-- $v round $i"
      XLA_FLAGS="${!v}" measure "t2i_${v}_$i" b --what chain,txt2img --iters 20; tail -1 $OUT/peak_mem.txt
    done
  done
else
  echo "no persistent temp buffer flag"
fi
rm -f $OUT/mem_*.log
