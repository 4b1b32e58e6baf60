// Package par splits loops over large arrays across the machine's cores.
//
// It imports only the standard library.
package par
