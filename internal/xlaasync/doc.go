// Package xlaasync lets sdgo queue executions on GoMLX's XLA backend
// without waiting for them to finish.
//
// go-xla 0.1.4 waits on every execution's completion event before
// returning its output buffers, so each UNet call of a sampling loop starts
// only after the host has seen the previous one end: the GPU idles while
// the host returns, runs the sampler's bookkeeping and launches the next
// call's first kernels. PJRT itself executes asynchronously (outputs carry
// their own readiness; a later execution or copy that reads them waits on
// the device). This package gives go-xla a copy of the plugin's PJRT API
// table whose event-await entry skips the wait while the calling thread is
// inside NoWait; every other wait (host-to-device and device-to-host copies,
// events awaited outside NoWait) goes to the plugin as before. It reaches
// GoMLX's and go-xla's unexported fields by reflection; Install reports
// whether they are where this code expects them, and the tests pin that.
//
// It imports only the standard library and unexported; it never imports
// sdgo's model, pipeline or anything above them.
package xlaasync
