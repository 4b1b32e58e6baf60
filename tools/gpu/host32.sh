#!/usr/bin/env bash
# Session 7: where the host's ~5 ms per UNet-step execution goes: the same
# HLO module (sdgo's unet_step, dumped) dispatched from JAX, with the
# runtime's host-side profiler events; and JAX's per-argument dispatch cost.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
rm -rf /tmp/dump /tmp/prof
XLA_FLAGS="--xla_dump_to=/tmp/dump --xla_dump_hlo_as_text --xla_dump_hlo_as_proto --xla_dump_hlo_pass_re=^$" timeout 150 $SDGO bench $A --what chain --iters 2 2>&1 | grep -v opened | tail -1
F=$(ls -S /tmp/dump/*before_optimizations.txt | head -1); echo "module $F"
XLA_FLAGS="--xla_disable_hlo_passes=dot-merger" timeout 300 python3 tools/gpu/hosttime.py $F /tmp/prof 2>&1 | grep -v "^W11\|^I11" | tail -80
