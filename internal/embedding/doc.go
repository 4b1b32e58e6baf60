// Package embedding reads textual-inversion embeddings the way
// AUTOMATIC1111's webui does (modules/textual_inversion): webui's own .pt
// files (string_to_param), diffusers concept files (.bin or .pt holding one
// {token: tensor}), .safetensors files with one tensor (emb_params) and
// SDXL files with a clip_l and a clip_g tensor. A Database holds a folder
// of them: the file name without its extension is the trigger word,
// embeddings whose width does not fit the loaded model are listed as
// skipped, and Finder finds trigger words in token ids (longest match
// first) for the prompt chunker. It also owns the embedding hash written
// to infotexts as "TI hashes" (the first 12 hex digits of the file's
// SHA-256).
//
// It imports the standard library, pickle and safetensors only: no GoMLX,
// no model, no prompt parsing (the tokenizer comes in as a function). The
// vectors it returns are plain float32 values; putting them into a text
// encoder's input is model's job.
package embedding
