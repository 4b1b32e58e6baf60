#!/usr/bin/env bash
# Session 8: two more command-buffer flags named in the plugin's binary
# (diag45.sh): command buffers built on thunks
# (--xla_gpu_experimental_enable_command_buffer_on_thunks) and concurrent
# graph regions (--xla_gpu_graph_enable_concurrent_region); each against
# the default, alternating on one lease: chained steps, txt2img with the
# host's launch time per step.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 200 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s" | grep -v "^[EW]11\|^\s\|^=\|^external" | cut -c1-240; }
V0=""; TH="--xla_gpu_experimental_enable_command_buffer_on_thunks=true"; CR="--xla_gpu_graph_enable_concurrent_region=true"
for v in V0 TH CR; do echo "-- warm $v"; XLA_FLAGS="${!v}" b --what chain --iters 1 | tail -2; done
for i in 1 2; do
  for v in V0 TH CR; do
    echo "-- $v round $i"
    XLA_FLAGS="${!v}" b --what chain,txt2img --iters 20
  done
done
