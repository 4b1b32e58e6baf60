// Package safetensors reads and writes the safetensors file format: an 8-byte
// little-endian header length, a JSON header naming every tensor (dtype, shape,
// byte range) plus optional string metadata, then the raw tensor bytes.
//
// It owns header parsing and validation, memory-mapped zero-copy access to
// tensor bytes by name, conversion of the stored dtypes to float32, the DType
// enum and an atomic writer.
//
// It imports only the standard library. It must not import any other sdgo
// package (in particular not pickle or checkpoint): it is a leaf of the
// dependency graph.
package safetensors
