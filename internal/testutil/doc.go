// Package testutil holds helpers shared by tests: the shared fixture folder,
// a pure-Go GoMLX backend, and GoMLX contexts holding the tiny model's
// weights. Only _test.go files import it.
//
// It imports GoMLX and sdgo's fixture, nn and safetensors packages; no
// package imports it outside its tests.
package testutil
