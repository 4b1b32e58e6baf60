package checkpoint

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// vaeKeyPrefixes are the top-level modules of an LDM VAE.
var vaeKeyPrefixes = []string{"encoder.", "decoder.", "quant_conv.", "post_quant_conv."}

func isVAEKey(n string) bool {
	for _, p := range vaeKeyPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// WithVAE replaces the checkpoint's VAE with the one in path: a standalone
// VAE file (keys encoder.*, decoder.*, quant_conv.*, post_quant_conv.*, or
// the same under first_stage_model.), a diffusers VAE file or folder, in
// .safetensors or .ckpt/.pt form. Other keys in the file (EMA copies,
// training losses) are ignored. Every VAE tensor of the checkpoint must be
// present with the same shape; on error the checkpoint is unchanged.
func (c *Checkpoint) WithVAE(path string) error {
	wrap := func(err error) error { return fmt.Errorf("checkpoint: vae %s: %w", path, err) }
	var src Source
	var err error
	if st, serr := os.Stat(path); serr == nil && st.IsDir() {
		src, err = openComponent(path) // a folder is never (nil, nil) here
	} else {
		src, err = OpenFile(path)
	}
	if err != nil {
		return err
	}
	rs, err := vaeFileRenames(src)
	if err != nil {
		src.Close()
		return wrap(err)
	}
	next := &Checkpoint{entries: map[string]*entry{}}
	if err := next.addRenames(src, PrefixVAE, rs); err != nil {
		src.Close()
		return wrap(err)
	}
	if err := c.checkVAEFits(next); err != nil {
		src.Close()
		return wrap(err)
	}
	for n := range c.entries {
		if strings.HasPrefix(n, PrefixVAE) {
			delete(c.entries, n)
		}
	}
	for n, e := range next.entries {
		c.entries[n] = e
	}
	c.sources = append(c.sources, src)
	c.vaePath = path
	c.sortNames()
	c.model.Components = components(c, c.names)
	return nil
}

// vaeFileRenames maps a VAE file's keys to LDM VAE keys (without prefix).
func vaeFileRenames(src Source) ([]rename, error) {
	names := src.Names()
	var ldm, diffusers []string
	for _, n := range names {
		k := strings.TrimPrefix(n, PrefixVAE)
		if !isVAEKey(k) {
			continue
		}
		if strings.Contains(k, "down_blocks.") || strings.Contains(k, "up_blocks.") || strings.Contains(k, "mid_block.") {
			diffusers = append(diffusers, n)
		} else {
			ldm = append(ldm, n)
		}
	}
	switch {
	case len(ldm) == 0 && len(diffusers) == 0:
		msg := fmt.Sprintf("no VAE tensors (encoder.*, decoder.*, with or without %s) among its %d tensors", PrefixVAE, len(names))
		if g := guessKind(names); g != "" {
			msg += "; " + g
		}
		return nil, fmt.Errorf("%s", msg)
	case len(diffusers) > 0:
		all := append(diffusers, ldm...) // conv_in, conv_norm_out... have no block marker
		rs, unknown := vaeRenames(all, shapesOf(src, all))
		if len(unknown) > 0 {
			return nil, unknownError("diffusers VAE", unknown)
		}
		return dedupe(rs)
	default:
		var rs []rename
		for _, n := range ldm {
			rs = append(rs, rename{to: strings.TrimPrefix(n, PrefixVAE), from: []string{n}})
		}
		return dedupe(rs)
	}
}

// dedupe drops renames whose target repeats (diffusers and LDM names that
// coincide) and fails on real conflicts.
func dedupe(rs []rename) ([]rename, error) {
	seen := map[string]string{}
	var out []rename
	for _, r := range rs {
		if prev, ok := seen[r.to]; ok {
			if prev == r.from[0] {
				continue
			}
			return nil, fmt.Errorf("both %q and %q map to %q", prev, r.from[0], r.to)
		}
		seen[r.to] = r.from[0]
		out = append(out, r)
	}
	return out, nil
}

// checkVAEFits compares a replacement VAE with the checkpoint's own.
func (c *Checkpoint) checkVAEFits(next *Checkpoint) error {
	var missing, wrong []string
	own := 0
	for n, e := range c.entries {
		if !strings.HasPrefix(n, PrefixVAE) {
			continue
		}
		own++
		ne, ok := next.entries[n]
		if !ok {
			missing = append(missing, strings.TrimPrefix(n, PrefixVAE))
			continue
		}
		if !equalInts(ne.info.Shape, e.info.Shape) {
			wrong = append(wrong, fmt.Sprintf("%s is %v in the VAE file but %v in the checkpoint", strings.TrimPrefix(n, PrefixVAE), ne.info.Shape, e.info.Shape))
		}
	}
	sort.Strings(missing)
	sort.Strings(wrong)
	if len(wrong) > 0 {
		return fmt.Errorf("does not fit this %s checkpoint: %s%s (a VAE for another model family?)", c.model.Family, strings.Join(first(wrong, 3), "; "), more(len(wrong), 3))
	}
	if len(missing) > 0 {
		return fmt.Errorf("lacks %d VAE tensors the checkpoint has: %s%s", len(missing), strings.Join(first(missing, 5), ", "), more(len(missing), 5))
	}
	if own == 0 {
		if _, ok := next.entries[PrefixVAE+"decoder.conv_in.weight"]; !ok {
			return fmt.Errorf("has no decoder (decoder.conv_in.weight)")
		}
	}
	return nil
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func more(n, shown int) string {
	if n > shown {
		return fmt.Sprintf(" and %d more", n-shown)
	}
	return ""
}
