#!/usr/bin/env bash
# GPU call A: tiny-model parity on cuda (f32, f16, bf16), then a real-size
# SD1.5 checkpoint with random weights: load, bench in f16 and bf16.
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee $OUT/gpu.txt
for dt in f32 f16 bf16; do
  timeout 240 $SDGO verify --fixtures $G/fixtures --backend cuda --dtype $dt --kinds text_encoder,unet,vae_decode,vae_encode,txt2img > $OUT/verify_cuda_$dt.txt 2>&1
  tail -1 $OUT/verify_cuda_$dt.txt
done
t0=$(date +%s.%N)
python3 tools/gpu/mkckpt.py $G/shapes/sd15.json $M/sd15.safetensors
echo "mkckpt sd15: $(echo "$(date +%s.%N) - $t0" | bc) s, $(du -h $M/sd15.safetensors | cut -f1)"
measure sd15_f16 timeout 300 $SDGO bench --model $M/sd15.safetensors --clip-vocab $G/clip --backend cuda --dtype f16 --what all --batch 2 -W 512 -H 512 --iters 20 --steps 20 --json $OUT/bench_sd15_f16.json
measure sd15_bf16 timeout 200 $SDGO bench --model $M/sd15.safetensors --backend cuda --dtype bf16 --what unet --batch 2 -W 512 -H 512 --iters 20 --json $OUT/bench_sd15_bf16.json
measure sd15_f16_b16 timeout 200 $SDGO bench --model $M/sd15.safetensors --backend cuda --dtype f16 --what unet --batch 16 -W 512 -H 512 --iters 10 --json $OUT/bench_sd15_f16_b16.json
cat $OUT/peak_mem.txt
