package pipeline

import (
	"sync"

	"sdgo/internal/sample"
)

// prefetchNoise draws a seeded noise stream prefetchAhead tensors ahead in
// the background, so that generating the next draw (Philox on 65k values
// costs milliseconds) overlaps the UNet call instead of adding to every
// step. The stream must ignore the sigmas it is asked with (webui's
// ImageRNG does); the order of draws, and so every value, is unchanged.
type prefetchNoise struct {
	src  sample.Noise
	mu   sync.Mutex // one draw at a time, sent in the order drawn
	next chan drawn
}

// prefetchAhead is how many draws are kept ready. Two, because a job's
// first step needs both the initial noise and (ancestral samplers) its own
// noise: both are then drawn while the text encoders run, where with one
// ahead the first step's noise was drawn only after the initial noise was
// taken, and the GPU waited for it.
const prefetchAhead = 2

type drawn struct {
	v   []float32
	err error
}

func prefetch(src sample.Noise) *prefetchNoise {
	p := &prefetchNoise{src: src, next: make(chan drawn, prefetchAhead)}
	for range prefetchAhead {
		go p.fill()
	}
	return p
}

// fill makes one draw. The send never blocks (at most prefetchAhead draws
// are outstanding), so a stream left unread leaks no goroutine.
func (p *prefetchNoise) fill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, err := p.src.Next(0, 0)
	p.next <- drawn{v, err}
}

// Next returns the draw made in the background and starts the one after.
func (p *prefetchNoise) Next(_, _ float64) ([]float32, error) {
	d := <-p.next
	if d.err == nil {
		go p.fill()
	}
	return d.v, d.err
}
