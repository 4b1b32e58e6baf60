#!/usr/bin/env bash
# Session 8: the executable cache (package xlacache). Fresh `sdgo txt2img`
# processes with the autotune cache warm and the executable folder moved
# away (compiled) or kept (loaded), alternating; identical PNGs; the
# loaded executables' speed against compiled ones; tiny-model parity from
# the cache; SDXL; Stats.Queue (bench's queue_ms).
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
nproc; grep -m1 "model name" /proc/cpuinfo
( [ -f $M/sdxl.safetensors ] || python3 tools/gpu/mkckpt.py $G/shapes/sdxl_base.json $M/sdxl.safetensors > /dev/null 2>&1 & )
X="--model $M/sdxl.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 -W 1024 -H 1024"
E=$HOME/.cache/sdgo/xla-executables
b() { timeout 250 $SDGO bench "$@" 2>&1 | grep -v opened; }
# debug lines of the last fresh run: compiles and cache loads
dbg() { grep -E "loaded from the cache|stored in the cache|graph compiled" $OUT/fresh.log | sed 's/^[0-9\/]* [0-9:]* DEBUG //; s/file=[^ ]*\///' | cut -c1-150; }
export SDGO_LOG=debug
fresh "SD1.5, first run (all caches empty)" $OUT/c0.png $A; dbg
du -sh $HOME/.cache/sdgo/*; ls -la $E | head
for i in 1 2 3; do
  mv $E /tmp/exe.$i
  fresh "SD1.5, executables compiled" $OUT/cc$i.png $A; [ $i = 1 ] && dbg
  fresh "SD1.5, executables loaded" $OUT/cw$i.png $A; [ $i = 1 ] && dbg
done
for f in cc2 cc3 cw1 cw2 cw3; do cmp -s $OUT/cc1.png $OUT/$f.png && echo "$f.png = cc1.png" || echo "$f.png DIFFERS"; done
unset SDGO_LOG
for i in 1 2; do
  mv $E /tmp/exe.b$i
  echo "-- compiled, round $i"; b $A --what chain,txt2img --iters 20 | grep -v "images/s"
  echo "-- loaded, round $i"; b $A --what chain,txt2img --iters 20 | grep -v "images/s"
done
echo "== parity, tiny model, cuda f16, compiled then loaded"
for i in 1 2; do
  timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,vae_decode,txt2img 2>&1 | cut -c1-140 | grep -v "^ERROR" > $OUT/verify$i.txt
  tail -3 $OUT/verify$i.txt
done
diff $OUT/verify1.txt $OUT/verify2.txt > /dev/null && echo "verify: identical reports" || diff $OUT/verify1.txt $OUT/verify2.txt | head -20
while pgrep -f mkckpt > /dev/null; do sleep 2; done
export SDGO_LOG=debug
fresh "SDXL, first run" $OUT/x0.png $X; dbg
fresh "SDXL, executables loaded" $OUT/x1.png $X; dbg
mv $E /tmp/exe.x
fresh "SDXL, executables compiled" $OUT/x2.png $X
fresh "SDXL, executables loaded" $OUT/x3.png $X
cmp $OUT/x2.png $OUT/x3.png && echo "x2.png = x3.png"
du -sh $E
rm -f $OUT/*.png $OUT/mem_*.log
