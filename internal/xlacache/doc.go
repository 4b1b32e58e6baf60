// Package xlacache keeps the programs XLA compiles in a folder, so that a
// later process loads them instead of compiling again.
//
// XLA takes seconds to compile an SD UNet even when its autotuning results
// are cached, and sdgo compiles a text encoder, a UNet and a VAE before its
// first image. PJRT can serialize a compiled executable and load it back
// (PJRT_Executable_Serialize, PJRT_Executable_DeserializeAndLoad; JAX's
// persistent compilation cache uses them); go-xla 0.1.4 does not call them.
// This package gives go-xla a copy of the plugin's PJRT API table whose
// compile entry first looks for the program in the folder: a file named by a
// SHA-256 of the program, its compile options and the plugin, device and
// XLA_FLAGS it was compiled for. A hit is loaded; a miss is compiled by
// the plugin, then serialized into the folder. A file the plugin cannot load
// is removed and the program compiled. Like xlaasync, it reaches GoMLX's and
// go-xla's unexported fields by reflection; the tests pin them.
//
// It imports go-xla's pjrt package, GoMLX's backends interface and
// unexported; it never imports sdgo's model, pipeline or anything above them.
package xlacache
