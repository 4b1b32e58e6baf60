#!/usr/bin/env bash
# Session 9: hloprof.py as functions with a main guard, and hosttime.py
# importing them (it used to cut hloprof.py's source and exec it): both on
# the SD 1.5 UNet at batch 2, then roofline.py on the profile.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
rm -rf /tmp/dump /tmp/jdump
XLA_FLAGS="--xla_dump_to=/tmp/dump --xla_dump_hlo_as_text --xla_dump_hlo_as_proto --xla_dump_hlo_pass_re=^$" SDGO_XLA_CACHE=off timeout 100 $SDGO bench $A --what unet --iters 2 2>&1 | tail -1
F=$(ls -S /tmp/dump/*before_optimizations.txt | head -1)
echo "== hloprof.py"
XLA_FLAGS="--xla_dump_to=/tmp/jdump --xla_dump_hlo_as_text --xla_disable_hlo_passes=dot-merger" timeout 150 python3 tools/gpu/hloprof.py $F /tmp/prof 2>&1 | grep -v "^ " | grep -v "^W0\|^I0" | head -12
cp /tmp/prof_kernels.tsv $OUT/kernels_unet_b2.tsv
cp "$(ls -S /tmp/jdump/*after_optimizations.txt | head -1)" $OUT/opt_unet_b2.txt && gzip -f $OUT/opt_unet_b2.txt
echo "== roofline.py"; python3 tools/gpu/roofline.py <(zcat $OUT/opt_unet_b2.txt.gz) $OUT/kernels_unet_b2.tsv 2>&1 | head -8
echo "== hosttime.py"
XLA_FLAGS="--xla_disable_hlo_passes=dot-merger" timeout 150 python3 tools/gpu/hosttime.py $F /tmp/hprof 2>&1 | grep -v "^W0\|^I0" | head -20
