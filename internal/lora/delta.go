package lora

import (
	"fmt"
	"runtime"
	"sync"
)

// This file is the merge arithmetic, in float32 as webui does it (the
// references are extensions-builtin/Lora network_lora.py, network_hada.py,
// network_lokr.py, network_full.py and lyco_helpers.py).

// mat is a float32 matrix, row-major.
type mat struct {
	v          []float32
	rows, cols int
}

func (t tensor) mat() (mat, error) {
	v, err := t.float32s()
	if err != nil {
		return mat{}, err
	}
	rows := 1
	if len(t.shape) > 0 {
		rows = t.shape[0]
	}
	return mat{v: v, rows: rows, cols: prod(t.shape) / max(rows, 1)}, nil
}

// parallelWork is the number of multiply-adds above which mul splits its
// rows over the CPUs (a rank-32 SDXL LoRA is some 60 billion of them).
const parallelWork = 1 << 22

// mul returns a @ b, summing in order of the inner index (the result does
// not depend on how rows are split over goroutines).
func mul(a, b mat) mat {
	out := make([]float32, a.rows*b.cols)
	rows := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := out[i*b.cols : (i+1)*b.cols]
			for p := 0; p < a.cols; p++ {
				x := a.v[i*a.cols+p]
				brow := b.v[p*b.cols : (p+1)*b.cols]
				for j, y := range brow {
					row[j] += x * y
				}
			}
		}
	}
	workers := min(runtime.NumCPU(), a.rows)
	if workers < 2 || a.rows*a.cols*b.cols < parallelWork {
		rows(0, a.rows)
		return mat{v: out, rows: a.rows, cols: b.cols}
	}
	var wg sync.WaitGroup
	step := (a.rows + workers - 1) / workers
	for lo := 0; lo < a.rows; lo += step {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			rows(lo, hi)
		}(lo, min(lo+step, a.rows))
	}
	wg.Wait()
	return mat{v: out, rows: a.rows, cols: b.cols}
}

// transpose returns a's transpose.
func transpose(a mat) mat {
	out := make([]float32, len(a.v))
	for i := 0; i < a.rows; i++ {
		for j := 0; j < a.cols; j++ {
			out[j*a.rows+i] = a.v[i*a.cols+j]
		}
	}
	return mat{v: out, rows: a.cols, cols: a.rows}
}

// cp rebuilds a weight from its CP/Tucker factors (lyco_helpers'
// make_weight_cp): t [r1, r2, K], wa [r1, P], wb [r2, Q] give
// out[p, q, k] = sum_ij t[i, j, k] wa[i, p] wb[j, q], flattened [P, Q*K].
func cp(t tensor, wa, wb mat) (mat, error) {
	tv, err := t.float32s()
	if err != nil {
		return mat{}, err
	}
	r1, r2, k := t.shape[0], t.shape[1], prod(t.shape[2:])
	q, p := wb.cols, wa.cols
	tmp := make([]float32, r1*q*k) // [r1, Q, K]
	for i := 0; i < r1; i++ {
		for j := 0; j < r2; j++ {
			for c := 0; c < q; c++ {
				w := wb.v[j*q+c]
				for s := 0; s < k; s++ {
					tmp[(i*q+c)*k+s] += tv[(i*r2+j)*k+s] * w
				}
			}
		}
	}
	out := make([]float32, p*q*k)
	for i := 0; i < r1; i++ {
		for a := 0; a < p; a++ {
			w := wa.v[i*p+a]
			for n := 0; n < q*k; n++ {
				out[a*q*k+n] += tmp[i*q*k+n] * w
			}
		}
	}
	return mat{v: out, rows: p, cols: q * k}, nil
}

// kron is the Kronecker product of w1 [a, b] and w2 [c, d, K] (K = 1 for a
// matrix): out[i1*c+i2, (j1*d+j2)*K+s] = w1[i1, j1] * w2[i2, j2, s].
func kron(w1 mat, w2 mat, d, k int) mat {
	a, b, c := w1.rows, w1.cols, w2.rows
	cols := b * d * k
	out := make([]float32, a*c*cols)
	for i1 := 0; i1 < a; i1++ {
		for j1 := 0; j1 < b; j1++ {
			x := w1.v[i1*b+j1]
			for i2 := 0; i2 < c; i2++ {
				dst := out[(i1*c+i2)*cols+j1*d*k:]
				src := w2.v[i2*d*k : (i2+1)*d*k]
				for n, y := range src {
					dst[n] = x * y
				}
			}
		}
	}
	return mat{v: out, rows: a * c, cols: cols}
}

// size returns the number of elements of the module's delta, checking that
// its tensors fit together, without computing it.
func (m *module) size() (int, error) {
	p := m.parts
	bad := func(format string, args ...any) (int, error) {
		return 0, fmt.Errorf("module %s: %s", m.name, fmt.Sprintf(format, args...))
	}
	switch m.kind {
	case KindLoRA:
		up, down := p["lora_up.weight"], p["lora_down.weight"]
		if len(up.shape) < 2 || len(down.shape) < 2 {
			return bad("lora_up %v and lora_down %v are not matrices", up.shape, down.shape)
		}
		r := prod(up.shape[1:])
		mid, ok := p["lora_mid.weight"]
		if !ok {
			if r != down.shape[0] {
				return bad("lora_up %v does not fit lora_down %v", up.shape, down.shape)
			}
			return up.shape[0] * prod(down.shape[1:]), nil
		}
		if len(mid.shape) < 2 || mid.shape[0] != r || mid.shape[1] != down.shape[0] {
			return bad("lora_mid %v does not fit lora_up %v and lora_down %v", mid.shape, up.shape, down.shape)
		}
		return up.shape[0] * prod(down.shape[1:]) * prod(mid.shape[2:]), nil
	case KindLoHa:
		n1, err1 := factorSize(p["hada_w1_a"], p["hada_w1_b"], p["hada_t1"], m.has("hada_t1"))
		n2, err2 := factorSize(p["hada_w2_a"], p["hada_w2_b"], p["hada_t2"], m.has("hada_t2"))
		if err1 != nil || err2 != nil || n1 != n2 {
			return bad("hada factors do not fit (%v, %v)", shapesOf(p, "hada_w1_a", "hada_w1_b", "hada_t1"), shapesOf(p, "hada_w2_a", "hada_w2_b", "hada_t2"))
		}
		return n1, nil
	case KindLoKr:
		n1 := p["lokr_w1"].size()
		if !m.has("lokr_w1") {
			a, b := p["lokr_w1_a"], p["lokr_w1_b"]
			if len(a.shape) != 2 || len(b.shape) < 2 || a.shape[1] != b.shape[0] {
				return bad("lokr_w1_a %v does not fit lokr_w1_b %v", a.shape, b.shape)
			}
			n1 = a.shape[0] * prod(b.shape[1:])
		}
		n2 := p["lokr_w2"].size()
		if !m.has("lokr_w2") {
			var err error
			if n2, err = factorSize(p["lokr_w2_a"], p["lokr_w2_b"], p["lokr_t2"], m.has("lokr_t2")); err != nil {
				return bad("lokr_w2 factors do not fit: %v", err)
			}
		}
		return n1 * n2, nil
	case KindFull:
		return m.fullWeight().size(), nil
	}
	return bad("unknown kind %q", m.kind)
}

// factorSize is the element count of wa @ wb, or of cp(t, wa, wb).
func factorSize(wa, wb, t tensor, tucker bool) (int, error) {
	if len(wa.shape) != 2 || len(wb.shape) < 2 {
		return 0, fmt.Errorf("factors %v and %v are not matrices", wa.shape, wb.shape)
	}
	if tucker {
		if len(t.shape) < 2 || t.shape[0] != wa.shape[0] || t.shape[1] != wb.shape[0] {
			return 0, fmt.Errorf("core %v does not fit %v and %v", t.shape, wa.shape, wb.shape)
		}
		return wa.shape[1] * prod(wb.shape[1:]) * prod(t.shape[2:]), nil
	}
	if wa.shape[1] != wb.shape[0] {
		return 0, fmt.Errorf("%v does not fit %v", wa.shape, wb.shape)
	}
	return wa.shape[0] * prod(wb.shape[1:]), nil
}

func shapesOf(p map[string]tensor, names ...string) [][]int {
	var out [][]int
	for _, n := range names {
		if t, ok := p[n]; ok {
			out = append(out, t.shape)
		}
	}
	return out
}

// factor rebuilds wa @ wb, or cp(t, wa, wb) when the module has the core t.
func (m *module) factor(a, b, t string) (mat, error) {
	wa, err := m.parts[a].mat()
	if err != nil {
		return mat{}, err
	}
	wb, err := m.parts[b].mat()
	if err != nil {
		return mat{}, err
	}
	if core, ok := m.parts[t]; ok {
		return cp(core, wa, wb)
	}
	return mul(wa, wb), nil
}

// delta computes the module's weight change before scaling, flattened in
// the layout of the weight it changes.
func (m *module) delta() ([]float32, error) {
	p := m.parts
	switch m.kind {
	case KindLoRA:
		up, err := p["lora_up.weight"].mat()
		if err != nil {
			return nil, err
		}
		down, err := p["lora_down.weight"].mat()
		if err != nil {
			return nil, err
		}
		if mid, ok := p["lora_mid.weight"]; ok {
			w, err := cp(mid, transpose(up), down)
			return w.v, err
		}
		return mul(up, down).v, nil
	case KindLoHa:
		w1, err := m.factor("hada_w1_a", "hada_w1_b", "hada_t1")
		if err != nil {
			return nil, err
		}
		w2, err := m.factor("hada_w2_a", "hada_w2_b", "hada_t2")
		if err != nil {
			return nil, err
		}
		for i := range w1.v {
			w1.v[i] *= w2.v[i]
		}
		return w1.v, nil
	case KindLoKr:
		return m.kronDelta()
	case KindFull:
		return m.fullWeight().float32s()
	}
	return nil, fmt.Errorf("module %s: unknown kind %q", m.name, m.kind)
}

func (m *module) kronDelta() ([]float32, error) {
	var w1, w2 mat
	var err error
	if t, ok := m.parts["lokr_w1"]; ok {
		w1, err = t.mat()
	} else {
		w1, err = m.factor("lokr_w1_a", "lokr_w1_b", "")
	}
	if err != nil {
		return nil, err
	}
	d, k := 0, 1
	if t, ok := m.parts["lokr_w2"]; ok {
		if w2, err = t.mat(); err != nil {
			return nil, err
		}
		d, k = t.shape[1], prod(t.shape[2:])
	} else {
		if w2, err = m.factor("lokr_w2_a", "lokr_w2_b", "lokr_t2"); err != nil {
			return nil, err
		}
		d = w2.cols
		if t, ok := m.parts["lokr_t2"]; ok {
			d, k = m.parts["lokr_w2_b"].shape[1], prod(t.shape[2:])
		}
	}
	return kron(w1, w2, d, k).v, nil
}

// fullWeight is the stored difference of a full module.
func (m *module) fullWeight() tensor {
	if t, ok := m.parts["diff"]; ok {
		return t
	}
	return m.parts["w_norm"]
}

// bias is a full module's bias difference, if it has one.
func (m *module) bias() (tensor, bool) {
	if m.kind != KindFull {
		return tensor{}, false
	}
	if t, ok := m.parts["diff_b"]; ok {
		return t, true
	}
	t, ok := m.parts["b_norm"]
	return t, ok
}

// scale is what the delta is multiplied by besides the user's multiplier:
// a stored "scale", else alpha / rank, else 1 (webui's calc_scale).
func (m *module) scale() (float64, error) {
	if t, ok := m.parts["scale"]; ok {
		return scalar(t)
	}
	t, ok := m.parts["alpha"]
	if !ok {
		return 1, nil
	}
	alpha, err := scalar(t)
	if err != nil {
		return 0, err
	}
	dim := 0
	switch m.kind {
	case KindLoRA:
		dim = m.parts["lora_down.weight"].shape[0]
	case KindLoHa:
		dim = m.parts["hada_w1_b"].shape[0]
	case KindLoKr:
		if b, ok := m.parts["lokr_w1_b"]; ok {
			dim = b.shape[0]
		}
		if b, ok := m.parts["lokr_w2_b"]; ok {
			dim = b.shape[0]
		}
	}
	if dim == 0 {
		return 1, nil
	}
	return alpha / float64(dim), nil
}

func scalar(t tensor) (float64, error) {
	v, err := t.float32s()
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("scalar of shape %v", t.shape)
	}
	return float64(v[0]), nil
}
