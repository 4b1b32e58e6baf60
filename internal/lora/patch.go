package lora

import (
	"fmt"
	"sort"
	"strings"

	"sdgo/internal/checkpoint"
)

// Patch is a LoRA file bound to one model at chosen multipliers: which
// weights it changes and how. It holds its own copy of the file's tensors
// and computes each delta when asked, so only weights that are read cost
// anything.
type Patch struct {
	Name      string   // the file's network name (see File.Name)
	TE, UNet  float64  // multipliers of the text-encoder and UNet modules
	Unmatched []string // modules that match no weight of the model (webui skips them)

	changes map[string][]change // LDM key -> what changes it
	shapes  map[string][]int    // LDM key -> the weight's shape
}

// change is one module's contribution to one tensor.
type change struct {
	mod   *module
	site  Site
	bias  bool    // the module's bias difference (full modules)
	scale float32 // multiplier * alpha / rank
}

// Bind matches the file's modules to target's weights and checks that
// every delta has the shape of the weight it changes. family is the
// model's family ("" skips the family check); te and unet multiply the
// text-encoder and UNet modules (webui's <lora:name:te:unet>).
func (f *File) Bind(target Target, family checkpoint.Family, te, unet float64) (*Patch, error) {
	if err := f.CheckFamily(family); err != nil {
		return nil, err
	}
	sites, unmatched := f.Sites(target)
	p := &Patch{Name: f.Name(), TE: te, UNet: unet, Unmatched: unmatched,
		changes: map[string][]change{}, shapes: map[string][]int{}}
	if len(sites) == 0 {
		return nil, fmt.Errorf("lora: %s: none of its %d modules matches a weight of the model (%s)",
			f.path, len(f.modules), sample(unmatched, 3))
	}
	var bad []string
	for _, m := range f.modules {
		site, ok := sites[m.name]
		if !ok {
			continue
		}
		mult := unet
		if !strings.HasPrefix(m.name, prefixUNet) {
			mult = te
		}
		s, err := m.scale()
		if err != nil {
			return nil, fmt.Errorf("lora: %s: module %s: %w", f.path, m.name, err)
		}
		c := change{mod: m, site: site, scale: float32(mult * s)}
		if msg := p.fit(target, c, m.size); msg != "" {
			bad = append(bad, msg)
			continue
		}
		p.add(c)
		if b, ok := m.bias(); ok {
			c.bias, c.site.Key = true, biasKey(site.Key)
			if msg := p.fit(target, c, func() (int, error) { return b.size(), nil }); msg != "" {
				bad = append(bad, msg)
				continue
			}
			p.add(c)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("lora: %s does not fit the model (trained for another architecture?): %s",
			f.path, sample(bad, 3))
	}
	return p, nil
}

// fit checks that a change's delta has as many elements as its site; it
// returns a description of the mismatch, or "".
func (p *Patch) fit(target Target, c change, size func() (int, error)) string {
	info, ok := target.Info(c.site.Key)
	if !ok {
		return fmt.Sprintf("%s: the model has no %s", c.mod.name, c.site.Key)
	}
	n, err := size()
	if err != nil {
		return err.Error()
	}
	want := prod(info.Shape)
	if c.site.Rows > 0 && len(info.Shape) > 0 {
		want = c.site.Rows * prod(info.Shape[1:])
		if c.site.Row+c.site.Rows > info.Shape[0] {
			return fmt.Sprintf("%s: rows %d..%d of %s %v", c.mod.name, c.site.Row, c.site.Row+c.site.Rows, c.site.Key, info.Shape)
		}
	}
	if n != want {
		return fmt.Sprintf("%s: %d values for %s %v", c.mod.name, n, c.site.Key, info.Shape)
	}
	p.shapes[c.site.Key] = info.Shape
	return ""
}

func (p *Patch) add(c change) { p.changes[c.site.Key] = append(p.changes[c.site.Key], c) }

// biasKey names the bias beside a weight.
func biasKey(weight string) string {
	if s, ok := strings.CutSuffix(weight, "in_proj_weight"); ok {
		return s + "in_proj_bias"
	}
	return strings.TrimSuffix(weight, "weight") + "bias"
}

// Keys returns the LDM keys the patch changes, sorted.
func (p *Patch) Keys() []string {
	out := make([]string, 0, len(p.changes))
	for k := range p.changes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Changes reports whether the patch changes the tensor key.
func (p *Patch) Changes(key string) bool { return len(p.changes[key]) > 0 }

// Apply adds the patch's delta for key to w, the tensor's float32 values
// (in place). Keys the patch does not change are left alone.
func (p *Patch) Apply(key string, w []float32) error {
	cs := p.changes[key]
	if len(cs) == 0 {
		return nil
	}
	if len(w) != prod(p.shapes[key]) {
		return fmt.Errorf("lora: %s: %s has %d values, want %v", p.Name, key, len(w), p.shapes[key])
	}
	for _, c := range cs {
		if c.scale == 0 {
			continue
		}
		var d []float32
		var err error
		if c.bias {
			b, _ := c.mod.bias()
			d, err = b.float32s()
		} else {
			d, err = c.mod.delta()
		}
		if err != nil {
			return fmt.Errorf("lora: %s: module %s: %w", p.Name, c.mod.name, err)
		}
		dst := w
		if c.site.Rows > 0 {
			cols := len(w) / p.shapes[key][0]
			dst = w[c.site.Row*cols : (c.site.Row+c.site.Rows)*cols]
		}
		for i, x := range d {
			dst[i] += float32(x * c.scale) // rounded before adding, as torch does
		}
	}
	return nil
}

// Delta returns the change the patch makes to key (zeros where it changes
// nothing, e.g. the rows of in_proj_weight another module owns) and the
// tensor's shape; nil for keys it does not change.
func (p *Patch) Delta(key string) ([]float32, []int, error) {
	if !p.Changes(key) {
		return nil, nil, nil
	}
	shape := append([]int(nil), p.shapes[key]...)
	w := make([]float32, prod(shape))
	if err := p.Apply(key, w); err != nil {
		return nil, nil, err
	}
	return w, shape, nil
}
