package pipeline

import "sdgo/internal/sample"

// prefetchNoise draws a seeded noise stream one tensor ahead in the
// background, so that generating the next draw (Philox on 65k values costs
// milliseconds) overlaps the UNet call instead of adding to every step. The
// stream must ignore the sigmas it is asked with (webui's ImageRNG does);
// the order of draws, and so every value, is unchanged.
type prefetchNoise struct {
	src  sample.Noise
	next chan drawn
}

type drawn struct {
	v   []float32
	err error
}

func prefetch(src sample.Noise) *prefetchNoise {
	p := &prefetchNoise{src: src, next: make(chan drawn, 1)}
	go p.fill()
	return p
}

func (p *prefetchNoise) fill() {
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
