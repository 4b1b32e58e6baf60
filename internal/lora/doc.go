// Package lora reads LoRA files (kohya-style .safetensors, LyCORIS LoHa and
// LoKr, full weight differences) and turns them into float32 weight deltas
// under the original single-file (LDM) checkpoint keys: it owns the mapping
// from kohya module names (diffusers or LDM UNet paths, Hugging Face CLIP
// paths, SD2/SDXL OpenCLIP encoders) to LDM keys, the merge arithmetic that
// AUTOMATIC1111 uses, detection of the family a LoRA was trained for, and
// webui's LoRA hash.
//
// It imports the standard library, safetensors and checkpoint only: no
// GoMLX, no model code. Adding the deltas to weights on their way to the
// device is model's job.
package lora
