package par

import (
	"runtime"
	"sync"
)

// For calls fn on consecutive ranges [lo, hi) covering [0, n), one per core
// at most, and returns when all are done. Below grain items it makes one
// call on the calling goroutine: splitting small loops costs more than it
// saves.
func For(n, grain int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if n < grain || workers < 2 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for k := range workers {
		lo, hi := k*n/workers, (k+1)*n/workers
		wg.Add(1)
		go func() { defer wg.Done(); fn(lo, hi) }()
	}
	wg.Wait()
}
