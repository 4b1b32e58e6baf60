#!/usr/bin/env bash
# Session 7 record: sdgo bench for SD 1.5 (512) with the same prompt each
# call (text-encoder cache) and with --new-prompts, batches, peak memory
# (20 ms samples), fresh processes, tiny-model parity on cuda (UNet, VAE,
# txt2img), SDXL (1024).
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
begin
sdxl
b() { timeout 250 $SDGO bench "$@" 2>&1 | grep -v opened; }
measure fresh_first fresh "SD1.5, first run" $OUT/c1.png $A; tail -1 $OUT/peak_mem.txt
fresh "SD1.5, warm" $OUT/c2.png $A
fresh "SD1.5, warm" $OUT/c3.png $A
cmp $OUT/c2.png $OUT/c3.png && echo "c2.png and c3.png identical"
for i in 1 2; do
  for np in "" --new-prompts; do
    echo "-- txt2img $np round $i"
    b $A --what txt2img --iters 20 $np | grep -v "images/s"
  done
done
echo "== SD1.5 all"; measure sd15_all b $A --what text,unet,vae,txt2img,chain --iters 20 --json $OUT/bench_sd15.json | tail -8; tail -1 $OUT/peak_mem.txt
echo "== SD1.5 txt2img, peak"; measure sd15_t2i b $A --what txt2img --iters 20 | tail -2; tail -1 $OUT/peak_mem.txt
echo "== SD1.5 txt2img, Go trace (host time per execution)"; b $A --what txt2img --iters 10 --trace $OUT/t2i.trace | tail -1
echo "== SD1.5 unet b16"; b $A --what unet --batch 16 --iters 10 | tail -1
echo "== SD1.5 batch 8"; measure sd15_b8 b $A --what txt2img --batch-size 8 --iters 5 | tail -3; tail -1 $OUT/peak_mem.txt
echo "== SD1.5 batch 16"; measure sd15_b16 b $A --what txt2img --batch-size 16 --iters 3 | tail -3; tail -1 $OUT/peak_mem.txt
echo "== parity, tiny model, cuda f16"
timeout 200 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype f16 --kinds unet,vae_decode,vae_encode,txt2img 2>&1 | cut -c1-140
wait_sdxl
echo "== SDXL all"; measure sdxl_all b $X --what text,unet,vae,txt2img --iters 10 --json $OUT/bench_sdxl.json | tail -7; tail -1 $OUT/peak_mem.txt
echo "== SDXL txt2img, peak"; measure sdxl_t2i b $X --what txt2img --iters 10 | tail -2; tail -1 $OUT/peak_mem.txt
fresh "SDXL, warm" $OUT/x1.png $X
rm -f $OUT/mem_*.log $OUT/c1.png $OUT/c3.png $OUT/x1.png
