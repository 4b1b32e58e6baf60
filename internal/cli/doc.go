// Package cli implements the sdgo command line: one file per subcommand
// (verify, inspect, txt2img, ...). Run is the whole program; cmd/sdgo only
// wires the process to it.
package cli
