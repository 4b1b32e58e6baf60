#!/usr/bin/env bash
# First GPU call: find the plugin, tiny-model parity on cuda, one real-size UNet.
set -u
cd "$(dirname "$0")/../.."
G=.gpu; OUT=${OUT:-/tmp/out}; mkdir -p $OUT /tmp/m
gunzip -kf $G/sdgo.gz
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee $OUT/gpu.txt
# sdgo must find the CUDA plugin by itself (installed JAX).
timeout 300 $G/sdgo verify --fixtures $G/fixtures --backend cuda --dtype f32 --kinds text_encoder,unet,vae_decode,vae_encode,txt2img 2>&1 | tee $OUT/verify_cuda_f32.txt | tail -25
