// Package prompt is AUTOMATIC1111's prompt syntax, with webui's semantics
// (modules/prompt_parser.py, extra_networks.py, sd_hijack_clip.py), applied
// in webui's order:
//
//  1. ExtractNetworks cuts <lora:name:te:unet> / <hypernet:...> tags out of
//     the prompt (so brackets around a tag never affect it);
//  2. SplitAND splits on AND into sub-prompts with ":weight" suffixes
//     (composable diffusion);
//  3. Schedule expands prompt editing [from:to:when] and alternation
//     [a|b] into the text in effect at each sampling step;
//  4. ParseAttention turns (text), [text], (text:1.3), escapes and BREAK
//     into weighted spans;
//  5. Chunker packs the spans' tokens into 77-token contexts (75 prompt
//     tokens, comma backtracking, BREAK) with one multiplier per token.
//
// The parsers never fail on odd input: like webui, unbalanced brackets and
// stray characters are text. Schedule returns an error only for a
// non-positive step count or brackets nested absurdly deep.
//
// prompt imports only the standard library. It must not import tokenizer
// (both are leaves of the conditioning stage): Chunker takes a tokenize
// function instead. The tests that run Chunker with the real CLIP tokenizer
// live in the external test package prompt_test (chunk_test.go), which may
// import both.
package prompt
