package pipeline_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"sdgo/internal/fixture"
	"sdgo/internal/model"
	"sdgo/internal/pipeline"
	"sdgo/internal/safetensors"
	"sdgo/internal/sample"
	"sdgo/internal/tokenizer"
	"sdgo/internal/upscale"
)

// i2iModel is the tiny SD1 model shared by the img2img tests (one copy:
// its compiled graphs are reused across tests).
var i2iModel struct {
	once sync.Once
	m    *model.Model
	tok  *tokenizer.Tokenizer
	err  error
	mu   sync.Mutex // one job at a time on the model
}

func i2iJob(t *testing.T) pipeline.Job {
	t.Helper()
	i2iModel.once.Do(func() {
		dir, err := fixture.FindDir()
		if err != nil {
			i2iModel.err = err
			return
		}
		if i2iModel.tok, err = tokenizer.Find("", filepath.Join(dir, "..", "clip")); err != nil {
			i2iModel.err = err
			return
		}
		i2iModel.m, i2iModel.err = model.Load(filepath.Join(dir, "tiny-sd1", "model.safetensors"), model.Options{Backend: "go"})
	})
	if i2iModel.err != nil {
		t.Skip(i2iModel.err)
	}
	i2iModel.mu.Lock()
	t.Cleanup(i2iModel.mu.Unlock)
	return pipeline.Job{Model: i2iModel.m, Tok: i2iModel.tok}
}

// testImage is a w x h picture with smooth colour ramps and a dark
// square, so that resizing and cropping are visible.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{uint8(255 * x / w), uint8(255 * y / h), 128, 255}
			if x > w/4 && x < w/2 && y > h/4 && y < h/2 {
				c = color.NRGBA{20, 20, 20, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func i2iParams(init image.Image) pipeline.Img2ImgParams {
	return pipeline.Img2ImgParams{
		Params: pipeline.Params{Prompt: "a cat", Width: 64, Height: 64, Steps: 4, CFGScale: 7, Sampler: "Euler",
			Seed: 7, Subseed: 1},
		Init: []image.Image{init}, DenoisingStrength: 0.5,
	}
}

// zeroNoise hands out zeros: x starts at the init latent exactly.
type zeroNoise struct{ n int }

func (z zeroNoise) Next(_, _ float64) ([]float32, error) { return make([]float32, z.n), nil }

// encodeRef is the init latent the pipeline should use: the VAE mean of
// the image times the latent scale, computed here directly.
func encodeRef(t *testing.T, m *model.Model, img *image.NRGBA) ([]float32, []int) {
	t.Helper()
	w, h := img.Rect.Dx(), img.Rect.Dy()
	chw := make([]float32, 3*h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				chw[c*h*w+y*w+x] = float32(img.Pix[img.PixOffset(x, y)+c])/255*2 - 1
			}
		}
	}
	mom, shape, err := m.EncodeMoments(chw, []int{1, 3, h, w})
	if err != nil {
		t.Fatal(err)
	}
	lat := make([]float32, 4*shape[2]*shape[3])
	for i := range lat {
		lat[i] = mom[i] * float32(m.LatentScale)
	}
	return lat, []int{1, 4, shape[2], shape[3]}
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// firstStep runs p until the sampler's first step and returns it (X is
// the starting latent); the rest of the job is cancelled.
func firstStep(t *testing.T, j pipeline.Job, p pipeline.Img2ImgParams) sample.Step {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var first *sample.Step
	j.StepLatents = true
	j.OnStep = func(_, _ int, s sample.Step) {
		if first == nil {
			s.X = append([]float32(nil), s.X...)
			first = &s
			cancel()
		}
	}
	if _, err := pipeline.Img2Img(ctx, j, p); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if first == nil {
		t.Fatal("no step")
	}
	return *first
}

// TestImg2ImgResizeModes checks where each resize mode takes the init
// latent from: the VAE encoding of the init image fitted as webui fits it
// (upscale.Fit, checked against Pillow there), or for latent upscale the
// encoding at the image's own size resized bilinearly.
func TestImg2ImgResizeModes(t *testing.T) {
	j := i2iJob(t)
	j.Noise = func(int) sample.Noise { return zeroNoise{4 * 8 * 8} }
	wide := testImage(96, 64)
	justResize, _ := encodeRef(t, j.Model, upscale.Fit(wide, upscale.JustResize, 64, 64))
	for _, mode := range []upscale.Mode{upscale.JustResize, upscale.CropAndResize, upscale.ResizeAndFill, upscale.LatentUpscale} {
		t.Run(mode.String(), func(t *testing.T) {
			p := i2iParams(wide)
			p.ResizeMode = mode
			var want []float32
			if mode == upscale.LatentUpscale {
				small := testImage(48, 32)
				p.Init = []image.Image{small}
				lat, shape := encodeRef(t, j.Model, small)
				var err error
				if want, err = upscale.ResizeLatent(lat, shape, 8, 8, upscale.LatentModes[0]); err != nil {
					t.Fatal(err)
				}
			} else if mode == upscale.JustResize {
				want = justResize
			} else {
				want, _ = encodeRef(t, j.Model, upscale.Fit(wide, mode, 64, 64))
			}
			s := firstStep(t, j, p)
			if d := maxAbsDiff(s.X, want); d > 1e-5 {
				t.Errorf("start latent differs from the expected init latent by %g", d)
			}
			// the other fits give other latents
			if mode != upscale.JustResize {
				if d := maxAbsDiff(s.X, justResize); d < 1e-3 {
					t.Errorf("start latent equals just-resize's (diff %g)", d)
				}
			}
		})
	}
}

// TestImg2ImgDenoisingSteps checks webui's step arithmetic: t_enc =
// int(min(d, 0.999) * steps) steps + 1 on the tail of the schedule,
// starting at sigma[steps - t_enc - 1] with x = init + noise * sigma.
func TestImg2ImgDenoisingSteps(t *testing.T) {
	j := i2iJob(t)
	init := testImage(64, 64)
	initLat, _ := encodeRef(t, j.Model, init)
	noise := make([]float32, 4*8*8)
	for i := range noise {
		noise[i] = float32(math.Sin(float64(i)))
	}
	j.Noise = func(int) sample.Noise { return &sample.ReplayNoise{Draws: [][]float32{noise}} }
	smp, _ := sample.Lookup("Euler")
	full, err := sample.SigmasFor(smp, "", 10, sample.ScheduleParams{Table: sample.DefaultTable()}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		denoise float64
		steps   int // steps run
	}{{0.3, 4}, {0.75, 8}, {1, 10}} { // 0: TestImg2ImgDenoiseZero
		p := i2iParams(init)
		p.Steps, p.DenoisingStrength = 10, tt.denoise
		s := firstStep(t, j, p)
		if s.Total != tt.steps {
			t.Errorf("denoise %v: %d steps, want %d", tt.denoise, s.Total, tt.steps)
		}
		sigma := full[10-tt.steps]
		if math.Abs(s.Sigma-sigma) > 1e-9 {
			t.Errorf("denoise %v: starts at sigma %v, want %v", tt.denoise, s.Sigma, sigma)
		}
		want := make([]float32, len(noise))
		for i := range want {
			want[i] = float32(float64(initLat[i]) + float64(noise[i])*sigma)
		}
		if d := maxAbsDiff(s.X, want); d > 1e-4 {
			t.Errorf("denoise %v: x differs from init + noise*sigma by %g", tt.denoise, d)
		}
	}
}

// TestImg2ImgDenoiseZero: at strength 0 one step runs at the smallest
// sigma (0.029), so the sampled latent is the init latent up to
// sigma * eps. (The check stays on the latent: the tiny model's random VAE
// decoder turns a 0.01 latent shift into ~15 levels of pixel noise, so the
// decoded images of two almost equal latents are not comparable.)
func TestImg2ImgDenoiseZero(t *testing.T) {
	j := i2iJob(t)
	init := testImage(64, 64)
	initLat, _ := encodeRef(t, j.Model, init)
	j.Noise = func(int) sample.Noise { return zeroNoise{4 * 8 * 8} }
	var final []float32
	j.Trace = func(name string, v []float32) {
		if name == "x_final" {
			final = v
		}
	}
	p := i2iParams(init)
	p.DenoisingStrength, p.CFGScale = 0, 1
	res, err := pipeline.Img2Img(context.Background(), j, p)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(final, initLat); d > 0.05 || d == 0 {
		t.Errorf("latent moved by %g at strength 0, want (0, 0.05]", d)
	}
	if b := res[0].Image.Bounds(); b.Dx() != 64 || b.Dy() != 64 {
		t.Errorf("size %v", b)
	}
	if !strings.Contains(res[0].Infotext, "Denoising strength: 0,") {
		t.Errorf("infotext %q", res[0].Infotext)
	}
}

// changed counts the pixels of r where a and b differ.
func changed(a, b *image.NRGBA, r image.Rectangle) (n, of int) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.NRGBAAt(x, y) != b.NRGBAAt(x, y) {
				n++
			}
			of++
		}
	}
	return n, of
}

func rectMask(w, h int, r image.Rectangle) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			m.SetGray(x, y, color.Gray{255})
		}
	}
	return m
}

// TestImg2ImgInpaintWholePicture: the left half is repainted; beyond the
// blurred mask's reach the result is the original pixel for pixel, and
// the kept part of the latent is pinned to the init latent.
func TestImg2ImgInpaintWholePicture(t *testing.T) {
	for _, invert := range []bool{false, true} {
		t.Run(fmt.Sprintf("invert=%v", invert), func(t *testing.T) { inpaintWholePicture(t, invert) })
	}
}

// inpaintWholePicture repaints the left half: masked there, or masked on
// the right half and inverted.
func inpaintWholePicture(t *testing.T, invert bool) {
	j := i2iJob(t)
	init := testImage(64, 64)
	j.Noise = func(int) sample.Noise { return zeroNoise{4 * 8 * 8} }
	var x0, final []float32
	j.StepLatents = true
	j.OnStep = func(_, _ int, s sample.Step) {
		if x0 == nil {
			x0 = append([]float32(nil), s.X...)
		}
	}
	j.Trace = func(name string, v []float32) {
		if name == "x_final" {
			final = v
		}
	}
	p := i2iParams(init)
	p.Mask = rectMask(64, 64, image.Rect(0, 0, 32, 64))
	if invert {
		p.Mask, p.InvertMask = rectMask(64, 64, image.Rect(32, 0, 64, 64)), true
	}
	p.MaskBlur, p.InpaintingFill, p.DenoisingStrength = 4, pipeline.FillOriginal, 0.75
	res, err := pipeline.Img2Img(context.Background(), j, p)
	if err != nil {
		t.Fatal(err)
	}
	out := res[0].Image
	if b := out.Bounds(); b.Dx() != 64 || b.Dy() != 64 {
		t.Fatalf("size %v", b)
	}
	// the blur (sigma 4, kernel radius 10) reaches x = 41
	if n, of := changed(out, init, image.Rect(42, 0, 64, 64)); n != 0 {
		t.Errorf("%d of %d pixels outside the mask changed", n, of)
	}
	if n, of := changed(out, init, image.Rect(0, 0, 22, 64)); n < of/2 {
		t.Errorf("only %d of %d masked pixels were repainted", n, of)
	}
	// latent columns 6 and 7 are kept exactly, 0..2 are sampled
	for c := 0; c < 4; c++ {
		for y := 0; y < 8; y++ {
			for x := 0; x < 8; x++ {
				i := c*64 + y*8 + x
				if x >= 6 && final[i] != x0[i] {
					t.Fatalf("kept latent (%d,%d,%d) = %v, init %v", c, y, x, final[i], x0[i])
				}
			}
		}
	}
	if d := maxAbsDiff(final[:3], x0[:3]); d < 1e-3 {
		t.Errorf("repainted latent did not move (%g)", d)
	}
	info := res[0].Infotext
	wants := []string{"Denoising strength: 0.75, ", "Mask blur: 4, Version: "}
	if invert {
		wants = append(wants, "Mask mode: Inpaint not masked, Mask blur: 4, ")
	}
	for _, want := range wants {
		if !strings.Contains(info, want) {
			t.Errorf("infotext %q lacks %q", info, want)
		}
	}
	if strings.Contains(info, "Masked content") || strings.Contains(info, "Inpaint area") {
		t.Errorf("infotext %q has fields webui leaves out for original/whole picture", info)
	}
}

// TestImg2ImgInpaintOnlyMasked: the masked square plus padding is cut
// out, worked on at 64x64 and pasted back; the output keeps the init
// image's size and every pixel outside the (unblurred) mask.
func TestImg2ImgInpaintOnlyMasked(t *testing.T) {
	j := i2iJob(t)
	init := testImage(96, 80)
	sq := image.Rect(40, 30, 56, 46)
	p := i2iParams(init)
	p.Mask = rectMask(96, 80, sq)
	p.InpaintFullRes, p.InpaintFullResPadding = true, 8
	p.InpaintingFill, p.DenoisingStrength, p.Steps = pipeline.FillLatentNoise, 0.75, 3
	res, err := pipeline.Img2Img(context.Background(), j, p)
	if err != nil {
		t.Fatal(err)
	}
	out := res[0].Image
	if b := out.Bounds(); b.Dx() != 96 || b.Dy() != 80 {
		t.Fatalf("size %v, want the init image's 96x80", b)
	}
	for y := 0; y < 80; y++ {
		for x := 0; x < 96; x++ {
			if !image.Pt(x, y).In(sq) && out.NRGBAAt(x, y) != init.NRGBAAt(x, y) {
				t.Fatalf("pixel %d,%d outside the mask changed: %v, was %v", x, y, out.NRGBAAt(x, y), init.NRGBAAt(x, y))
			}
		}
	}
	if n, of := changed(out, init, sq); n < of/2 {
		t.Errorf("only %d of %d masked pixels were repainted", n, of)
	}
	info := res[0].Infotext
	if !strings.Contains(info, "Denoising strength: 0.75, Inpaint area: Only masked, Masked area padding: 8, Masked content: latent noise, Version: ") {
		t.Errorf("infotext %q", info)
	}
}

// inpaintCheckpoint writes a copy of the tiny SD1 checkpoint whose UNet
// reads 9 channels, as inpainting models do: the first 4 input channels
// of the first convolution keep their weights, the 5 new ones (mask,
// masked-image latent) get extra(i) (float16).
func inpaintCheckpoint(t *testing.T, extra func(i int) float32) string {
	t.Helper()
	dir, err := fixture.FindDir()
	if err != nil {
		t.Skip(err)
	}
	f, err := safetensors.Open(filepath.Join(dir, "tiny-sd1", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const key = "model.diffusion_model.input_blocks.0.0.weight"
	header := map[string]any{}
	var data []byte
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		raw, err := f.Raw(name)
		if err != nil {
			t.Fatal(err)
		}
		shape := info.Shape
		if name == key {
			if info.DType != safetensors.F16 || len(shape) != 4 || shape[1] != 4 {
				t.Fatalf("%s is %s %v", key, info.DType, shape)
			}
			per := shape[2] * shape[3]
			var wide []byte
			for o := 0; o < shape[0]; o++ {
				wide = append(wide, raw[o*4*per*2:(o+1)*4*per*2]...)
				for i := 0; i < 5*per; i++ {
					h := safetensors.Float32ToHalf(extra(o*5*per + i))
					wide = append(wide, byte(h), byte(h>>8))
				}
			}
			raw, shape = wide, []int{shape[0], 9, shape[2], shape[3]}
		}
		header[name] = map[string]any{"dtype": string(info.DType), "shape": shape,
			"data_offsets": []int{len(data), len(data) + len(raw)}}
		data = append(data, raw...)
	}
	js, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	out := make([]byte, 8, 8+len(js)+len(data))
	binary.LittleEndian.PutUint64(out, uint64(len(js)))
	out = append(append(out, js...), data...)
	path := filepath.Join(t.TempDir(), "tiny-inpainting.safetensors")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImg2ImgInpaintingModel runs a 9-channel UNet: with zero weights on
// the extra channels it must give exactly what the 4-channel model gives
// (the latent goes first), with other weights the conditioning changes the
// result; outside the mask the pixels stay, and the infotext says
// "Conditional mask weight".
func TestImg2ImgInpaintingModel(t *testing.T) {
	j := i2iJob(t)
	j.Noise = func(int) sample.Noise { return zeroNoise{4 * 8 * 8} }
	var final []float32
	j.Trace = func(name string, v []float32) {
		if name == "x_final" {
			final = v
		}
	}
	init := testImage(64, 64)
	p := i2iParams(init)
	p.Mask = rectMask(64, 64, image.Rect(0, 0, 24, 64))
	p.Steps, p.DenoisingStrength, p.InpaintingFill = 3, 0.7, pipeline.FillOriginal
	p.CFGScale = 1 // CFG 7 on the random model amplifies rounding (one UNet call agrees to 1e-6)
	run := func(j pipeline.Job) (pipeline.Result, []float32) {
		t.Helper()
		res, err := pipeline.Img2Img(context.Background(), j, p)
		if err != nil {
			t.Fatal(err)
		}
		return res[0], final
	}
	_, plain := run(j)
	load := func(extra func(int) float32) pipeline.Job {
		m, err := model.Load(inpaintCheckpoint(t, extra), model.Options{Backend: "go"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		if m.UNet.InChannels != 9 {
			t.Fatalf("UNet reads %d channels", m.UNet.InChannels)
		}
		jj := j
		jj.Model = m
		return jj
	}
	res0, zero := run(load(func(int) float32 { return 0 }))
	var mag float64
	for _, v := range plain {
		mag = max(mag, math.Abs(float64(v)))
	}
	t.Logf("zero-extra vs 4-channel: %g (latent magnitude %g)", maxAbsDiff(zero, plain), mag)
	if d := maxAbsDiff(zero, plain); d > 5e-5*max(mag, 1) {
		t.Errorf("9-channel UNet with zero extra weights differs from the 4-channel one by %g", d)
	}
	res1, cond := run(load(func(i int) float32 { return float32(math.Sin(float64(i))) / 8 }))
	t.Logf("with conditioning weights: %g", maxAbsDiff(cond, plain))
	if d := maxAbsDiff(cond, plain); d < 1e-2 {
		t.Errorf("the inpainting conditioning did not change the result (%g)", d)
	}
	for _, r := range []pipeline.Result{res0, res1} {
		if n, of := changed(r.Image, init, image.Rect(24, 0, 64, 64)); n != 0 {
			t.Errorf("%d of %d pixels outside the mask changed", n, of)
		}
		if !strings.Contains(r.Infotext, "Denoising strength: 0.7, Conditional mask weight: 1, ") {
			t.Errorf("infotext %q", r.Infotext)
		}
	}
	// plain img2img on an inpainting model (the whole image counts as masked)
	p.Mask = nil
	if _, err := pipeline.Img2Img(context.Background(), load(func(int) float32 { return 0.01 }), p); err != nil {
		t.Fatal(err)
	}
}

// TestImg2ImgBatches: two init images make a batch of two (one latent
// each), batches get consecutive seeds, every image its own infotext.
func TestImg2ImgBatches(t *testing.T) {
	j := i2iJob(t)
	a, b := testImage(64, 64), testImage(80, 64)
	latA, _ := encodeRef(t, j.Model, a)
	latB, _ := encodeRef(t, j.Model, upscale.Fit(b, upscale.JustResize, 64, 64))
	j.Noise = func(int) sample.Noise { return zeroNoise{2 * 4 * 8 * 8} }
	p := i2iParams(a)
	p.Init = []image.Image{a, b}
	p.BatchSize, p.BatchCount, p.Steps, p.DenoisingStrength = 2, 2, 2, 0.5
	var starts [][]float32
	j.StepLatents = true
	j.OnStep = func(_, _ int, s sample.Step) {
		if s.Index == 0 {
			starts = append(starts, append([]float32(nil), s.X...))
		}
	}
	res, err := pipeline.Img2Img(context.Background(), j, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 || len(starts) != 2 {
		t.Fatalf("%d results, %d batches", len(res), len(starts))
	}
	for i, r := range res {
		if r.Seed != int64(7+i) || !strings.Contains(r.Infotext, "Seed: "+strconv.Itoa(7+i)+",") {
			t.Errorf("result %d: seed %d, infotext %q", i, r.Seed, r.Infotext)
		}
	}
	for _, x := range starts {
		if d := maxAbsDiff(x[:256], latA); d > 1e-5 {
			t.Errorf("first image starts %g from its init latent", d)
		}
		if d := maxAbsDiff(x[256:], latB); d > 1e-5 {
			t.Errorf("second image starts %g from its init latent", d)
		}
	}
}

// TestImg2ImgTimestepSampler: DDIM works on the variance-preserving
// latent, so it starts from (init + noise*sigma) / sqrt(1 + sigma^2).
func TestImg2ImgTimestepSampler(t *testing.T) {
	j := i2iJob(t)
	init := testImage(64, 64)
	initLat, _ := encodeRef(t, j.Model, init)
	noise := make([]float32, 4*8*8)
	for i := range noise {
		noise[i] = float32(math.Cos(float64(i)))
	}
	j.Noise = func(int) sample.Noise { return &sample.ReplayNoise{Draws: [][]float32{noise}} }
	p := i2iParams(init)
	p.Sampler, p.Steps, p.DenoisingStrength = "DDIM", 10, 0.5
	s := firstStep(t, j, p)
	sigma := s.Sigma
	if s.Total != 6 {
		t.Errorf("%d steps, want int(0.5*10)+1 = 6", s.Total)
	}
	want := make([]float32, len(noise))
	for i := range want {
		want[i] = float32((float64(initLat[i]) + float64(noise[i])*sigma) / math.Sqrt(1+sigma*sigma))
	}
	if d := maxAbsDiff(s.X, want); d > 1e-4 {
		t.Errorf("DDIM starts %g away from the VP latent", d)
	}
}
