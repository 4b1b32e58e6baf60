package model

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"sdgo/internal/checkpoint"
	"sdgo/internal/clip"
	"sdgo/internal/nn"
	"sdgo/internal/unet"
	"sdgo/internal/vae"
)

// Options configure Load.
type Options struct {
	Backend    string          // "go", "cuda", "xla:/path" ("" = $SDGO_BACKEND or go)
	DType      string          // "f32", "f16", "bf16" ("" = f32 on go, f16 elsewhere)
	VAE        string          // a separate VAE file replacing the checkpoint's
	Prediction string          // "eps" or "v" to override detection ("" = detect)
	Hints      json.RawMessage // architecture facts not visible in shapes ({"unet":..,"text":..,"vae":..})
	Logger     *slog.Logger    // where detection decisions are logged (nil = discard)
	// Images is the batch size the model will mostly run (0 = 1): on a
	// GPU it sizes the memory the allocator keeps between calls.
	Images int
}

// TextEncoder is one text encoder of a model and how the pipeline must use it.
type TextEncoder struct {
	Prefix string      // checkpoint key prefix
	Config clip.Config // architecture
	PadID  int         // the id webui pads prompt chunks with
	Output clip.Output // what the model's conditioning takes from it
}

// Model is a loaded Stable Diffusion checkpoint on a backend.
type Model struct {
	Family      checkpoint.Family
	Prediction  string // "eps" or "v"
	Inpainting  bool
	LatentScale float64
	Text        []TextEncoder
	UNet        unet.Config
	VAE         vae.Config
	Hash        string // webui's short model hash ("" if not computed)

	ckpt *checkpoint.Checkpoint
	// nets are the runners of the text encoders, the UNet and the VAE: one
	// backend, but each network its own weights, compiled graphs and lock,
	// so one can compile while another runs (Precompile).
	nets   [numNets]*Runner
	inputs inputCache // conditioning tensors reused across sampling steps
	texts  textCache  // recent text-encoder results, for jobs with the same prompts
}

// network indexes Model.nets.
type network int

const (
	netText network = iota
	netUNet
	netVAE
	numNets
)

// Load opens the checkpoint at path (a .safetensors, .ckpt or diffusers
// folder), detects its family and architecture, and prepares it on the
// chosen backend. Weights are read when a network first runs.
func Load(path string, opt Options) (*Model, error) {
	start := time.Now()
	defer func() { slog.Debug("model opened", "path", path, "time", time.Since(start).Round(time.Millisecond)) }()
	var copts []checkpoint.Option
	if p := opt.Prediction; p != "" {
		pred, err := parsePrediction(p)
		if err != nil {
			return nil, err
		}
		copts = append(copts, checkpoint.WithPrediction(pred))
	}
	ck, err := checkpoint.Open(path, copts...)
	if err != nil {
		return nil, err
	}
	if opt.VAE != "" {
		if err := ck.WithVAE(opt.VAE); err != nil {
			ck.Close()
			return nil, err
		}
	}
	spec, err := ResolveBackendSpec(opt.Backend)
	if err != nil {
		ck.Close()
		return nil, err
	}
	dt, err := dtypeFor(opt.DType, spec)
	if err != nil {
		ck.Close()
		return nil, err
	}
	if dt == dtypes.Float32 && strings.HasPrefix(spec, "xla:") {
		FullFloat32()
	}
	var reserve int64
	if strings.HasPrefix(spec, "xla:") {
		reserve = gpuReserve(ck, dt.Size(), opt.Images)
	}
	backend, err := openBackend(spec, reserve)
	if err != nil {
		ck.Close()
		return nil, err
	}
	m, err := newModel(ck, opt)
	if err != nil {
		ck.Close()
		return nil, err
	}
	for i := range m.nets {
		m.nets[i] = NewRunner(backend, ck, dt)
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	src := ck.Model().PredictionSource
	if m.Family == checkpoint.SD2 && !m.Inpainting && src == checkpoint.FromDefault && opt.Prediction == "" && m.UNet.Parameterization == "" {
		v, err := m.probeV()
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("model: deciding eps or v prediction: %w (pass --prediction eps|v to skip the test)", err)
		}
		if v {
			m.Prediction, src = "v", "unet test"
		} else {
			src = "unet test"
		}
	}
	log.Info("model loaded", "family", m.Family, "prediction", m.Prediction, "decided by", src)
	return m, nil
}

// probeV is webui's test for SD2 checkpoints that do not say whether they
// predict v: run the UNet once on a constant 8x8 latent (0.5) at t=999 with
// a constant two-token context (0.5); a v model's output minus the input
// averages below -1.
func (m *Model) probeV() (bool, error) {
	const n = 4 * 8 * 8
	x := make([]float32, n)
	for i := range x {
		x[i] = 0.5
	}
	ctx := make([]float32, 2*m.UNet.ContextDim)
	for i := range ctx {
		ctx[i] = 0.5
	}
	var y []float32
	if m.UNet.ADMInChannels > 0 {
		y = make([]float32, m.UNet.ADMInChannels)
	}
	out, err := m.RunUNet(x, []int{1, m.UNet.InChannels, 8, 8}, []float32{999}, ctx, []int{1, 2, m.UNet.ContextDim}, y)
	if err != nil {
		return false, err
	}
	var sum float64
	for i, v := range out {
		sum += float64(v) - float64(x[i%n])
	}
	return sum/float64(len(out)) < -1, nil
}

func parsePrediction(p string) (checkpoint.Prediction, error) {
	switch strings.ToLower(p) {
	case "eps", "epsilon":
		return checkpoint.Epsilon, nil
	case "v", "v_prediction", "v-prediction":
		return checkpoint.VPrediction, nil
	}
	return "", fmt.Errorf("model: unknown prediction %q: use eps or v", p)
}

// newModel works out every architecture from the checkpoint's shapes.
func newModel(ck *checkpoint.Checkpoint, opt Options) (*Model, error) {
	shapes := map[string][]int{}
	for _, n := range ck.Names() {
		if info, ok := ck.Info(n); ok {
			shapes[n] = info.Shape
		}
	}
	hints := parseHints(opt.Hints)
	m := &Model{
		Family:      ck.Family(),
		Prediction:  predictionName(ck.Prediction()),
		Inpainting:  ck.Inpainting(),
		LatentScale: float64(ck.LatentScale()),
		ckpt:        ck,
	}
	var err error
	if m.UNet, err = unet.DetectConfig(shapes, checkpoint.PrefixUNet); err != nil {
		return nil, err
	}
	if hints["unet"] != nil {
		if err := m.UNet.ApplyHints(hints["unet"]); err != nil {
			return nil, err
		}
		if m.UNet.Parameterization != "" && opt.Prediction == "" {
			m.Prediction = m.UNet.Parameterization
		}
	}
	if m.VAE, err = vae.DetectConfig(shapes, checkpoint.PrefixVAE); err != nil {
		return nil, err
	}
	m.VAE.ScaleFactor = m.LatentScale
	if hints["vae"] != nil {
		if err := m.VAE.ApplyHints(hints["vae"]); err != nil {
			return nil, err
		}
		m.LatentScale = m.VAE.ScaleFactor
	}
	type enc struct {
		prefix string
		pad    int
		out    clip.Output
		hint   []string
	}
	var encs []enc
	switch m.Family {
	case checkpoint.SD1:
		encs = []enc{{checkpoint.PrefixSD1Text + "text_model.", 49407, clip.SD1Output(1), []string{"text"}}}
	case checkpoint.SD2:
		encs = []enc{{checkpoint.PrefixSD2Text, 0, clip.SD2Output, []string{"text"}}}
	case checkpoint.SDXL:
		encs = []enc{
			{checkpoint.PrefixSDXLText1 + "text_model.", 49407, clip.SDXLOutput(false), []string{"text_l", "text1", "text"}},
			{checkpoint.PrefixSDXLText2, 0, clip.SDXLOutput(true), []string{"text_g", "text2", "text_bigg", "text"}},
		}
	case checkpoint.SDXLRefiner:
		encs = []enc{{checkpoint.PrefixRefinerText, 0, clip.SDXLOutput(true), []string{"text_g", "text2", "text"}}}
	default:
		return nil, fmt.Errorf("model: family %s is not supported yet", m.Family)
	}
	for _, e := range encs {
		cfg, err := clip.DetectConfig(shapes, e.prefix)
		if err != nil {
			return nil, err
		}
		for _, h := range e.hint {
			if hints[h] != nil {
				if err := cfg.ApplyHints(hints[h]); err != nil {
					return nil, err
				}
				break
			}
		}
		m.Text = append(m.Text, TextEncoder{Prefix: e.prefix, Config: cfg, PadID: e.pad, Output: e.out})
	}
	return m, nil
}

func predictionName(p checkpoint.Prediction) string {
	if p == checkpoint.VPrediction {
		return "v"
	}
	return "eps"
}

// parseHints splits an ldm architecture object into its parts.
func parseHints(raw json.RawMessage) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	if len(raw) == 0 {
		return out
	}
	var wrap struct {
		LDM map[string]json.RawMessage `json:"ldm"`
	}
	if json.Unmarshal(raw, &wrap) == nil && wrap.LDM != nil {
		return wrap.LDM
	}
	_ = json.Unmarshal(raw, &out)
	return out
}

// Close releases the compiled graphs, the backend with the weights it
// holds on the device (a model switch on a GPU would otherwise keep both
// models' weights) and the checkpoint. The model must not be used
// afterwards.
func (m *Model) Close() error {
	m.texts.clear()
	if m.nets[netUNet] != nil {
		for _, r := range m.nets {
			r.release()
		}
		_ = catch(m.nets[netUNet].backend.Finalize)
	}
	return m.ckpt.Close()
}

// Checkpoint returns the opened checkpoint.
func (m *Model) Checkpoint() *checkpoint.Checkpoint { return m.ckpt }

// Runner returns the UNet's runner; its backend and dtype are every
// network's.
func (m *Model) Runner() *Runner { return m.nets[netUNet] }

// LoadStats reports the weights read so far by all the model's networks.
func (m *Model) LoadStats() LoadStats {
	var s LoadStats
	for _, r := range m.nets {
		rs := r.LoadStats()
		s.Bytes += rs.Bytes
		s.Time += rs.Time
	}
	return s
}

// TextOutput is one encoder's result for a batch of 77-token rows.
type TextOutput struct {
	Hidden []float32 // [B, 77, Width]
	Width  int
	Pooled []float32 // [B, ProjDim] when the encoder's output asks for it
}

// EncodeText runs text encoder i on rows of token ids ([B][77]) and returns
// the hidden states it is configured to give, with clip skip skip (0 keeps
// the encoder's default; SD1 takes 1 = last layer, 2 = penultimate).
func (m *Model) EncodeText(i int, ids [][]int, skip int) (TextOutput, error) {
	return m.EncodeTextVectors(i, ids, nil, skip)
}

// InputVectors replaces the token embeddings of positions Pos, Pos+1, ...
// of row Row of an EncodeTextVectors call with Data (n x Width values for
// n positions): a textual-inversion embedding's vectors.
type InputVectors struct {
	Row, Pos int
	Data     []float32
}

// EncodeTextVectors is EncodeText with some input vectors given instead of
// looked up from the token table (positional embeddings are still added).
// Without vectors it is EncodeText; with them it runs a second compiled
// variant of the encoder that also takes [B, L, Width] input vectors.
func (m *Model) EncodeTextVectors(i int, ids [][]int, vecs []InputVectors, skip int) (TextOutput, error) {
	if i < 0 || i >= len(m.Text) {
		return TextOutput{}, fmt.Errorf("model: text encoder %d of %d", i, len(m.Text))
	}
	out := m.Text[i].Output
	if skip > 0 && m.Family == checkpoint.SD1 {
		out = clip.SD1Output(skip)
	}
	return m.encodeText(i, ids, vecs, out)
}

// EncodeTextLayer runs text encoder i and returns hidden state -skip (1 =
// last layer), through the final LayerNorm when finalNorm, whatever the
// family's own conditioning takes; the fixture runner checks encoders with
// it.
func (m *Model) EncodeTextLayer(i int, ids [][]int, skip int, finalNorm bool) (TextOutput, error) {
	if i < 0 || i >= len(m.Text) {
		return TextOutput{}, fmt.Errorf("model: text encoder %d of %d", i, len(m.Text))
	}
	return m.encodeText(i, ids, nil, clip.Output{Skip: skip, FinalNorm: finalNorm})
}

func (m *Model) encodeText(i int, ids [][]int, vecs []InputVectors, out clip.Output) (TextOutput, error) {
	te := m.Text[i]
	b := len(ids)
	if b == 0 {
		return TextOutput{}, fmt.Errorf("model: encode text: no rows")
	}
	l := len(ids[0])
	flat := make([]int32, 0, b*l)
	for _, row := range ids {
		if len(row) != l {
			return TextOutput{}, fmt.Errorf("model: encode text: rows of %d and %d tokens", l, len(row))
		}
		for _, id := range row {
			flat = append(flat, int32(id))
		}
	}
	key := fmt.Sprintf("text%d/skip%d/norm%v/pool%v", i, out.Skip, out.FinalNorm, out.Pooled)
	inputs := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(flat, b, l)}
	var v, mask []float32
	if len(vecs) > 0 {
		var err error
		if v, mask, err = inputVectors(vecs, b, l, te.Config.Width); err != nil {
			return TextOutput{}, err
		}
		key += "/vectors"
		inputs = append(inputs, tensors.FromFlatDataAndDimensions(v, b, l, te.Config.Width), tensors.FromFlatDataAndDimensions(mask, b, l))
	}
	cacheKey := textKey(key, b, l, flat, v, mask)
	if to, ok := m.texts.get(cacheKey); ok {
		return to, nil
	}
	res, err := m.nets[netText].Run(key, func(s *nn.Scope, in []*Node) []*Node {
		scope := s.In(strings.TrimSuffix(te.Prefix, "."))
		var h, p *Node
		if len(in) == 3 {
			replace := GreaterThan(in[2], ZerosLike(in[2]))
			h, p = clip.EncodeWithVectors(scope, te.Config, in[0], in[1], replace, out)
		} else {
			h, p = clip.Encode(scope, te.Config, in[0], out)
		}
		outs := []*Node{ConvertDType(h, dtypes.Float32)}
		if p != nil {
			outs = append(outs, ConvertDType(p, dtypes.Float32))
		}
		return outs
	}, inputs...)
	if err != nil {
		return TextOutput{}, err
	}
	var to TextOutput
	if to.Hidden, err = Float32s(res[0]); err != nil {
		return to, err
	}
	to.Width = res[0].Shape().Dimensions[2]
	if len(res) > 1 {
		if to.Pooled, err = Float32s(res[1]); err != nil {
			return to, err
		}
	}
	m.texts.put(cacheKey, to)
	return to, nil
}

// inputVectors lays vecs out as a [b, l, width] tensor and a [b, l] mask
// (1 where a vector replaces the token embedding).
func inputVectors(vecs []InputVectors, b, l, width int) (v, mask []float32, err error) {
	v = make([]float32, b*l*width)
	mask = make([]float32, b*l)
	for _, iv := range vecs {
		n := len(iv.Data) / width
		if len(iv.Data)%width != 0 || n == 0 || iv.Row < 0 || iv.Row >= b || iv.Pos < 0 || iv.Pos+n > l {
			return nil, nil, fmt.Errorf("model: encode text: %d input values at row %d position %d do not fit %d rows of %d x %d", len(iv.Data), iv.Row, iv.Pos, b, l, width)
		}
		at := iv.Row*l + iv.Pos
		copy(v[at*width:], iv.Data)
		for k := 0; k < n; k++ {
			mask[at+k] = 1
		}
	}
	return v, mask, nil
}

// RunUNet runs the denoising network once: x [B, C, H, W] at timesteps t [B]
// (fractional allowed) with cross-attention context [B, L, D] and, for
// SDXL, the vector conditioning y [B, ADM] (nil otherwise). It returns the
// prediction [B, 4, H, W] (eps or v, per m.Prediction).
func (m *Model) RunUNet(x []float32, xShape []int, t []float32, context []float32, ctxShape []int, y []float32) ([]float32, error) {
	if len(xShape) != 4 || len(ctxShape) != 3 {
		return nil, fmt.Errorf("model: unet: x shape %v and context shape %v, want [B,C,H,W] and [B,L,D]", xShape, ctxShape)
	}
	b := xShape[0]
	cond, err := m.conditioning("unet", b, context, ctxShape, y)
	if err != nil {
		return nil, err
	}
	xt, tt := tensors.FromFlatDataAndDimensions(x, xShape...), tensors.FromFlatDataAndDimensions(t, b)
	defer free(xt, tt)
	res, err := m.nets[netUNet].Run("unet", m.unetGraph(), append([]*tensors.Tensor{xt, tt}, cond...)...)
	if err != nil {
		return nil, err
	}
	defer free(res...)
	return Float32s(res[0])
}

// unetGraph is RunUNet's graph; its inputs are x, t, context and, for
// SDXL, y.
func (m *Model) unetGraph() GraphFn {
	cfg, hasY := m.UNet, m.UNet.ADMInChannels > 0
	return func(s *nn.Scope, in []*Node) []*Node {
		var yn *Node
		if hasY {
			yn = s.Cast(in[3])
		}
		out := unet.Forward(s.In(strings.TrimSuffix(checkpoint.PrefixUNet, ".")), cfg, s.Cast(in[0]), in[1], s.Cast(in[2]), yn)
		return []*Node{ConvertDType(out, dtypes.Float32)}
	}
}

// Guidance is classifier-free guidance folded into a UNet call (see
// RunGuidedUNet): the input scale c_in, the denoised = A*x + B*output
// coefficients of the prediction type, and the CFG scale.
type Guidance struct {
	CIn, A, B, Scale float64
}

// coefficients are the guidance as the guided graphs read it: c_in, A, B
// and B*Scale.
func (g Guidance) coefficients() []float32 {
	return []float32{float32(g.CIn), float32(g.A), float32(g.B), float32(g.B * g.Scale)}
}

// conditioning returns a UNet call's conditioning inputs for a batch of b:
// the context and, for SDXL, y [b, ADM], each kept on the device while the
// caller passes the same slice (inputCache). what names the call in errors.
func (m *Model) conditioning(what string, b int, context []float32, ctxShape []int, y []float32) ([]*tensors.Tensor, error) {
	in := []*tensors.Tensor{m.inputs.get(context, ctxShape)}
	if adm := m.UNet.ADMInChannels; adm > 0 {
		if len(y) != b*adm {
			return nil, fmt.Errorf("model: %s: y has %d values, want %d x %d", what, len(y), b, adm)
		}
		in = append(in, m.inputs.get(y, []int{b, adm}))
	}
	return in, nil
}

// RunGuidedUNet is one classifier-free-guidance step on the device: x
// [n, C, H, W] (unscaled latents) is scaled by c_in and run twice in one
// batch, against the first n rows of context [2n, L, D] (and y [2n, ADM]
// for SDXL; nil otherwise) and against the last n, at timesteps t [2n].
// With c and u the two outputs it returns the denoised latents
// A*x + B*u + B*Scale*(c - u) [n, C, H, W], so only x goes to the device
// and only the result comes back.
func (m *Model) RunGuidedUNet(x []float32, xShape []int, g Guidance, t []float32, context []float32, ctxShape []int, y []float32) ([]float32, error) {
	if len(xShape) != 4 || len(ctxShape) != 3 || ctxShape[0] != 2*xShape[0] || len(t) != 2*xShape[0] {
		return nil, fmt.Errorf("model: guided unet: x shape %v, %d timesteps and context shape %v, want [n,C,H,W], 2n and [2n,L,D]", xShape, len(t), ctxShape)
	}
	n := xShape[0]
	cond, err := m.conditioning("guided unet", 2*n, context, ctxShape, y)
	if err != nil {
		return nil, err
	}
	coef := g.coefficients()
	xt, ct, tt := tensors.FromFlatDataAndDimensions(x, xShape...), tensors.FromFlatDataAndDimensions(coef, len(coef)), tensors.FromFlatDataAndDimensions(t, 2*n)
	defer free(xt, ct, tt)
	res, err := m.nets[netUNet].Run("unet_guided", m.guidedGraph(), append([]*tensors.Tensor{xt, ct, tt}, cond...)...)
	if err != nil {
		return nil, err
	}
	defer free(res...)
	return Float32s(res[0])
}

// Decode turns latents [B, 4, h, w] (as the sampler gives them, scaled)
// into images [B, 3, 8h, 8w] in about [-1, 1].
func (m *Model) Decode(latent []float32, shape []int) ([]float32, []int, error) {
	res, err := m.nets[netVAE].Run("vae_decode", m.decodeGraph(), tensors.FromFlatDataAndDimensions(latent, shape...))
	if err != nil {
		return nil, nil, err
	}
	defer free(res...)
	v, err := Float32s(res[0])
	return v, res[0].Shape().Dimensions, err
}

// DecodePixels is Decode followed by webui's conversion to 8 bits, done on
// the device: (x+1)/2 clamped to [0, 1], times 255, truncated. It returns
// RGBA bytes [B, 8h, 8w, 4] with alpha 255 (image.NRGBA's layout), a
// quarter of the float images' size to copy back.
func (m *Model) DecodePixels(latent []float32, shape []int) ([]byte, []int, error) {
	x, err := NewLatents(latent, shape)
	if err != nil {
		return nil, nil, err
	}
	defer x.Free()
	res, err := m.nets[netVAE].Run("vae_decode", m.decodeGraph(), x.t)
	if err != nil {
		return nil, nil, err
	}
	defer free(res...)
	if res[1].DType() != dtypes.Uint8 {
		return nil, nil, fmt.Errorf("model: decoded pixels are %s, want Uint8", res[1].DType())
	}
	v, err := tensors.CopyFlatData[uint8](res[1])
	return v, res[1].Shape().Dimensions, err
}

// decodeGraph is the graph of Decode (output 0: images [B, 3, H, W] in
// Float32) and DecodePixels (output 1: RGBA bytes [B, H, W, 4]); each
// copies back only its own output.
func (m *Model) decodeGraph() GraphFn {
	cfg, scale := m.VAE, m.LatentScale
	return func(s *nn.Scope, in []*Node) []*Node {
		z := MulScalar(in[0], 1/scale)
		img := ConvertDType(vae.Decode(s.In(strings.TrimSuffix(checkpoint.PrefixVAE, ".")), cfg, s.Cast(z)), dtypes.Float32)
		return []*Node{img, rgbaBytes(img)}
	}
}

// rgbaBytes converts images [B, 3, H, W] in about [-1, 1] to RGBA bytes
// [B, H, W, 4] as webui converts a sample to 8 bits: each value v becomes
// uint8(clamp((v+1)/2, 0, 1) * 255), truncated, in Float32 arithmetic;
// alpha is 255.
func rgbaBytes(img *Node) *Node {
	d := img.Shape().Dimensions
	f := ClipScalar(DivScalar(AddScalar(img, 1), 2), 0, 1)
	px := ConvertDType(MulScalar(f, 255), dtypes.Uint8)
	px = TransposeAllAxes(px, 0, 2, 3, 1)
	alpha := BroadcastToDims(Const(img.Graph(), uint8(255)), d[0], d[2], d[3], 1)
	return Concatenate([]*Node{px, alpha}, 3)
}

// EncodeMoments runs the VAE encoder on images [B, 3, H, W] in [-1, 1] and
// returns the moments [B, 8, H/8, W/8] (mean, then log-variance), unscaled.
func (m *Model) EncodeMoments(image []float32, shape []int) ([]float32, []int, error) {
	cfg := m.VAE
	res, err := m.nets[netVAE].Run("vae_encode", func(s *nn.Scope, in []*Node) []*Node {
		mom := vae.Encode(s.In(strings.TrimSuffix(checkpoint.PrefixVAE, ".")), cfg, s.Cast(in[0]))
		return []*Node{ConvertDType(mom, dtypes.Float32)}
	}, tensors.FromFlatDataAndDimensions(image, shape...))
	if err != nil {
		return nil, nil, err
	}
	v, err := Float32s(res[0])
	return v, res[0].Shape().Dimensions, err
}

// OpenCLIP reports whether the encoder has OpenCLIP's layout (SD2, SDXL's
// second encoder), whose prompts webui tokenizes with OpenAI's text cleanup.
func (t TextEncoder) OpenCLIP() bool { return t.Config.Layout == clip.LayoutOpenCLIP }

// ComputeDType is the dtype Load runs networks in for Options' DType and
// Backend: dtype itself when set, else f32 on the pure-Go backend and f16 on
// XLA's. The pure-Go backend cannot run f16.
func ComputeDType(dtype, backend string) (dtypes.DType, error) {
	spec, err := ResolveBackendSpec(backend)
	if err != nil {
		return dtypes.InvalidDType, err
	}
	return dtypeFor(dtype, spec)
}

// dtypeFor is ComputeDType for a resolved backend spec.
func dtypeFor(dtype, spec string) (dtypes.DType, error) {
	if dtype == "" {
		dtype = "f32"
		if strings.HasPrefix(spec, "xla:") {
			dtype = "f16"
		}
	}
	dt, err := ParseDType(dtype)
	if err == nil && dt == dtypes.Float16 && strings.HasPrefix(spec, "go") {
		err = fmt.Errorf("model: the pure-Go backend cannot compute in f16 (GoMLX's simplego has no Float16 parameters): use f32, its default, or bf16, or a GPU backend (--backend cuda)")
	}
	return dt, err
}
