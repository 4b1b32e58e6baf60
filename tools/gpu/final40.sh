#!/usr/bin/env bash
# Session 8 record: fresh processes with the executable cache (first run,
# loaded, compiled with the autotune cache warm), sdgo bench for SD 1.5
# (512) and SDXL (1024), batches, peak memory (20 ms samples), tiny-model
# parity on cuda, and a kernel profile of the SD 1.5 UNet at batch 16.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
sdxl
E=$HOME/.cache/sdgo/xla-executables
b() { timeout 250 $SDGO bench "$@" 2>&1 | grep -v opened; }
measure fresh_first fresh "SD1.5, first run (caches empty)" $OUT/c1.png $A; tail -1 $OUT/peak_mem.txt
fresh "SD1.5, executables loaded" $OUT/c2.png $A
fresh "SD1.5, executables loaded" $OUT/c3.png $A
mv $E /tmp/exe.1
fresh "SD1.5, executables compiled (autotune cache warm)" $OUT/c4.png $A
for f in c2 c3 c4; do cmp -s $OUT/c1.png $OUT/$f.png && echo "$f.png = c1.png" || echo "$f.png DIFFERS"; done
echo "== SD1.5 all"; measure sd15_all b $A --what text,unet,vae,chain,txt2img --iters 20 --json $OUT/bench_sd15.json | tail -7; tail -1 $OUT/peak_mem.txt
for i in 1 2; do echo "-- txt2img round $i"; measure sd15_t2i$i b $A --what txt2img --iters 20 | tail -2; tail -1 $OUT/peak_mem.txt; done
echo "-- txt2img new prompts"; b $A --what txt2img --iters 20 --new-prompts | tail -2
echo "== SD1.5 unet b16"; b $A --what unet --batch 16 --iters 10 | tail -1
echo "== SD1.5 batch 8"; measure sd15_b8 b $A --what txt2img --batch-size 8 --iters 5 | tail -3; tail -1 $OUT/peak_mem.txt
echo "== SD1.5 batch 16"; measure sd15_b16 b $A --what txt2img --batch-size 16 --iters 3 | tail -3; tail -1 $OUT/peak_mem.txt
echo "== parity, tiny model, cuda f16"
timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,vae_decode,vae_encode,txt2img 2>&1 | cut -c1-140
wait_sdxl
echo "== SDXL all"; measure sdxl_all b $X --what text,unet,vae,txt2img --iters 10 --json $OUT/bench_sdxl.json | tail -7; tail -1 $OUT/peak_mem.txt
echo "== SDXL txt2img, peak"; measure sdxl_t2i b $X --what txt2img --iters 10 | tail -2; tail -1 $OUT/peak_mem.txt
fresh "SDXL, executables loaded" $OUT/x1.png $X
mv $E /tmp/exe.2
fresh "SDXL, executables compiled (autotune cache warm)" $OUT/x2.png $X
cmp -s $OUT/x1.png $OUT/x2.png && echo "x1.png = x2.png" || echo "x1.png and x2.png DIFFER"
echo "== SD1.5 UNet b16 kernel profile (hloprof.py)"
rm -rf /tmp/dump /tmp/prof /tmp/jdump
XLA_FLAGS="--xla_dump_to=/tmp/dump --xla_dump_hlo_as_text --xla_dump_hlo_as_proto --xla_dump_hlo_pass_re=^$" SDGO_XLA_CACHE=off timeout 150 $SDGO bench $A --what unet --batch 16 --iters 2 2>&1 | tail -1
F=$(ls -S /tmp/dump/*before_optimizations.txt | head -1)
XLA_FLAGS="--xla_dump_to=/tmp/jdump --xla_dump_hlo_as_text --xla_disable_hlo_passes=dot-merger" timeout 150 python3 tools/gpu/hloprof.py $F /tmp/prof > $OUT/prof_unet_b16.txt 2>&1
grep "median-ish\|GPU events" $OUT/prof_unet_b16.txt
cp "$(ls -S /tmp/jdump/*after_optimizations.txt | head -1)" $OUT/opt_unet_b16.txt && gzip -f $OUT/opt_unet_b16.txt
cp /tmp/prof_kernels.tsv $OUT/kernels_unet_b16.tsv 2>/dev/null
rm -f $OUT/mem_*.log $OUT/*.png
