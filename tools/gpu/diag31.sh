#!/usr/bin/env bash
# Session 7: diag30.sh again with room for the VMM allocator that
# SKIP_TEMP brings (its physical budget is the memory fraction sdgo sets,
# which the autotuner's and the graphs' buffers exceeded): SKIP_TEMP with
# fractions 0.06 and 0.10 of the card against the default, images compared.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
b() { timeout 200 $SDGO bench $A "$@" 2>&1 | grep -v opened | grep -v "images/s" | grep -v "^E11\|^\s\|^=\|^external\|^}\|^(param\|^  %\|^Failures\|^EXECUTION" | cut -c1-200; }
b --what txt2img --iters 2 > /dev/null
S="--xla_gpu_command_buffer_update_mode=SKIP_TEMP"
for i in 1 2; do
  for v in V0 S06 S10; do
    fl=""; fr=""
    case $v in S06) fl=$S; fr=0.06;; S10) fl=$S; fr=0.10;; esac
    echo "-- $v ($fl $fr) round $i"
    if [ $i = 1 ]; then
      rm -rf /tmp/img_$v; mkdir -p /tmp/img_$v
      SDGO_XLA_MEMORY_FRACTION=$fr XLA_FLAGS="$fl" timeout 200 $SDGO txt2img $A --prompt "a castle on a hill" --seed 7 --steps 20 --batch-count 3 -o /tmp/img_$v/ > /tmp/img_$v.log 2>&1
      echo "txt2img exit $?: $(cd /tmp/img_$v && md5sum *.png | cut -c1-12 | tr '\n' ' ')"; grep -i -E "warn|F11" /tmp/img_$v.log | head -3 | cut -c1-200
      SDGO_XLA_MEMORY_FRACTION=$fr XLA_FLAGS="$fl" measure $v b --what txt2img,chain --iters 20; tail -1 $OUT/peak_mem.txt
      SDGO_XLA_MEMORY_FRACTION=$fr XLA_FLAGS="$fl" b --what txt2img --iters 10 --trace $OUT/t_$v.trace
    else
      SDGO_XLA_MEMORY_FRACTION=$fr XLA_FLAGS="$fl" b --what txt2img,chain --iters 20
    fi
  done
done
for v in S06 S10; do cmp -s <(cd /tmp/img_V0 && md5sum *.png) <(cd /tmp/img_$v && md5sum *.png) && echo "$v images identical to V0" || echo "$v images DIFFER from V0"; done
rm -f $OUT/mem_*.log
