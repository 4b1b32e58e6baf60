// Package sdgo is Stable Diffusion in Go. The program is cmd/sdgo; the
// packages under internal/ follow the flow of shared/docs/DESIGN.md, and
// deps_test.go in this folder checks that their imports point down that flow.
package sdgo
