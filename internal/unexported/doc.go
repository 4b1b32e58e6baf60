// Package unexported reaches the unexported fields of GoMLX and go-xla that
// sdgo's GPU packages (cudnn, xlaasync, xlacache) read or replace, and the
// PJRT API table behind GoMLX's XLA backend. Each caller's tests pin the
// fields it needs, so an upgrade that moves them fails there.
//
// It imports only the standard library: GoMLX and go-xla are reached by
// reflection on the values callers pass in.
package unexported
