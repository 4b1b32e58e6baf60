// Package tokenizer is CLIP's byte-level BPE tokenizer: text to token ids the
// way Hugging Face's CLIPTokenizer does it (NFC, whitespace collapse,
// lowercase, CLIP's pre-tokenizer pattern, GPT-2 byte-to-unicode mapping,
// rank-ordered merges with a "</w>" end-of-word suffix), plus the ids and
// padding rules Stable Diffusion's text encoders expect: BOS 49406, EOS 49407,
// 77-token contexts padded with EOS (SD1, Hugging Face CLIP) or 0 (SD2 and
// SDXL's OpenCLIP).
//
// The vocabulary cannot be embedded in the binary. Load reads it from a
// folder holding vocab.json + merges.txt (a diffusers tokenizer/ folder) or
// the original bpe_simple_vocab_16e6.txt.gz; Find searches next to the model,
// a configured path and the user cache folder, and says where it looked when
// it finds nothing.
//
// A Tokenizer is safe for concurrent use; it caches the BPE result of every
// word it has seen (bounded).
//
// tokenizer imports only the standard library and golang.org/x/text (for
// NFC). It knows nothing of prompt syntax (weights, BREAK, editing): package
// prompt owns that and takes a tokenize function, so neither imports the
// other.
package tokenizer
