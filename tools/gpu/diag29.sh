#!/usr/bin/env bash
# Session 7: how long the host spends inside each execution (Go traces of
# txt2img) and the chained steps, with XLA's command buffers (CUDA graphs)
# as by default, off, down to single kernels, and with the BFC allocator
# (stable buffer addresses); variants alternate.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
PL=/opt/torch/.venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so
strings $PL | grep -oE 'xla_(gpu_)?[a-z0-9_]+' | sort -u > $OUT/flags.txt
wc -l < $OUT/flags.txt; grep -E "command_buffer|graph" $OUT/flags.txt | tr '\n' ' '; echo
b() { timeout 200 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s" | cut -c1-200; }
b --what txt2img --iters 2 > /dev/null
V0=""; V1="--xla_gpu_enable_command_buffer="; V2="--xla_gpu_graph_min_graph_size=1"
for i in 1 2; do
  for v in V0 V1 V2 BFC; do
    al=""; fl="${!v:-}"; [ $v = BFC ] && al=bfc
    echo "-- $v ($fl$al) round $i"
    tr=""; [ $i = 1 ] && tr="--trace $OUT/t_$v.trace"
    SDGO_XLA_ALLOCATOR=$al XLA_FLAGS="$fl" b --what chain --iters 20
    SDGO_XLA_ALLOCATOR=$al XLA_FLAGS="$fl" b --what txt2img --iters 10 $tr
  done
done
