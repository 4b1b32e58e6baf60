// Package infotext writes webui's "parameters" text: the prompt, an
// optional "Negative prompt:" line, and one line of ordered "Key: value"
// pairs. It is plain text processing and imports only the standard library.
package infotext
