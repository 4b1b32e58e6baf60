package par

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// TestFor: every index is visited exactly once, in ranges that split only
// above the grain, for sizes around the core count.
func TestFor(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	runtime.GOMAXPROCS(4)
	for _, tc := range []struct{ n, grain, maxCalls int }{
		{0, 1, 0}, {1, 1, 1}, {3, 1, 3}, {10, 1, 4}, {10, 100, 1}, {1000, 10, 4},
	} {
		seen := make([]int32, tc.n)
		var calls int32
		For(tc.n, tc.grain, func(lo, hi int) {
			atomic.AddInt32(&calls, 1)
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&seen[i], 1)
			}
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d grain=%d: index %d visited %d times", tc.n, tc.grain, i, c)
			}
		}
		if int(calls) != tc.maxCalls {
			t.Errorf("n=%d grain=%d: %d calls, want %d", tc.n, tc.grain, calls, tc.maxCalls)
		}
	}
}
