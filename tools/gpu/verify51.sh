#!/usr/bin/env bash
# Session 9: sdgo verify on cuda with its default precision (f16), which
# now holds network outputs to the stated half-precision tolerances; then
# in bf16 and in f32 (TF32 off).
set -u
cd "$(dirname "$0")/../.."
. tools/gpu/lib.sh
exec > >(tee $OUT/log) 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
K=text_encoder,a1111_emphasis,unet,vae_decode,vae_encode,lora_unet,lora_text_encoder,txt2img
for d in "" bf16 f32; do
  echo "== verify --backend cuda --dtype '$d'"
  timeout 180 $SDGO verify --fixtures $G/fixtures --backend cuda ${d:+--dtype $d} --kinds $K 2>&1 | cut -c1-190; echo "exit ${PIPESTATUS[0]}"
done
