#!/usr/bin/env bash
# Session 8: the executable cache with the card's name in its key: a first
# run stores, the next two fresh processes load every executable (debug
# log lines), identical PNGs.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
export SDGO_LOG=debug
for i in 1 2 3; do
  fresh "SD1.5, run $i" $OUT/c$i.png $A
  echo "  stored $(grep -c 'stored in the cache' $OUT/fresh.log), loaded $(grep -c 'loaded from the cache' $OUT/fresh.log), not loading $(grep -c 'does not load' $OUT/fresh.log)"
done
cmp $OUT/c1.png $OUT/c2.png && cmp $OUT/c1.png $OUT/c3.png && echo "c1 = c2 = c3"
ls $HOME/.cache/sdgo/xla-executables | wc -l
rm -f $OUT/*.png
