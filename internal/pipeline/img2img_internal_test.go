package pipeline

import (
	"errors"
	"image"
	"reflect"
	"strings"
	"testing"

	"sdgo/internal/infotext"
	"sdgo/internal/sample"
)

func TestAddImg2ImgInfoOrder(t *testing.T) {
	base := func() infotext.Info {
		var info infotext.Info
		for _, kv := range [][2]string{{"Steps", "20"}, {"Sampler", "Euler a"}, {"CFG scale", "7"}, {"Seed", "1"},
			{"Size", "512x512"}, {"Model hash", "0123456789"}, {"Model", "m"}, {"Variation seed", "5"},
			{"Variation seed strength", "0.1"}, {"Clip skip", "2"}, {"RNG", "CPU"}, {"Version", "sdgo"}} {
			info.Add(kv[0], kv[1])
		}
		return info
	}
	keys := func(info infotext.Info) string {
		var k []string
		for _, p := range info.Params {
			k = append(k, p.Key+"="+p.Value)
		}
		return strings.Join(k, ", ")
	}
	tests := []struct {
		name    string
		p       Img2ImgParams
		prep    img2imgPrep
		inpaint bool
		want    string
	}{
		{"plain", Img2ImgParams{DenoisingStrength: 0.75}, img2imgPrep{}, false,
			"Steps=20, Sampler=Euler a, CFG scale=7, Seed=1, Size=512x512, Model hash=0123456789, Model=m, Variation seed=5, " +
				"Variation seed strength=0.1, Denoising strength=0.75, Clip skip=2, RNG=CPU, Version=sdgo"},
		{"everything", Img2ImgParams{DenoisingStrength: 0.5, InvertMask: true, MaskBlur: 4, InpaintingFill: FillBlur,
			InpaintFullResPadding: 32, NoiseMultiplier: 1.1}, img2imgPrep{mask: image.NewGray(image.Rect(0, 0, 1, 1)), fullRes: true}, true,
			"Steps=20, Sampler=Euler a, CFG scale=7, Seed=1, Size=512x512, Model hash=0123456789, Model=m, Variation seed=5, " +
				"Variation seed strength=0.1, Denoising strength=0.5, Conditional mask weight=1, Clip skip=2, RNG=CPU, " +
				"Mask mode=Inpaint not masked, Mask blur=4, Inpaint area=Only masked, Masked area padding=32, Masked content=fill, " +
				"Noise multiplier=1.1, Version=sdgo"},
		{"original content, no blur", Img2ImgParams{DenoisingStrength: 1, InpaintingFill: FillOriginal},
			img2imgPrep{mask: image.NewGray(image.Rect(0, 0, 1, 1))}, false,
			"Steps=20, Sampler=Euler a, CFG scale=7, Seed=1, Size=512x512, Model hash=0123456789, Model=m, Variation seed=5, " +
				"Variation seed strength=0.1, Denoising strength=1, Clip skip=2, RNG=CPU, Version=sdgo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := base()
			addImg2ImgInfo(&info, &tt.p, &tt.prep, tt.inpaint)
			if got := keys(info); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestLatentMaskAndFills(t *testing.T) {
	// work size 64x64, the left 24 columns masked: latent columns 0-1 are
	// repainted, 4-7 kept; column 2-3 depend on the bicubic resize
	mask := image.NewGray(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 24; x++ {
			mask.Pix[y*64+x] = 255
		}
	}
	keep := latentKeep(mask, 2, 8, 8)
	if len(keep) != 2*4*64 {
		t.Fatalf("%d values", len(keep))
	}
	for i, k := range keep {
		x := i % 8
		if (x < 2 && k != 0) || (x >= 4 && k != 1) {
			t.Fatalf("keep[%d] (column %d) = %v", i, x, k)
		}
	}
	init := make([]float32, len(keep))
	for i := range init {
		init[i] = 5
	}
	nothing := append([]float32(nil), init...)
	p := Img2ImgParams{Params: Params{Seed: 100, BatchSize: 2}, InpaintingFill: FillLatentNothing}
	if err := fillLatent(nothing, keep, p, sample.SourceCPU, 8, 8); err != nil {
		t.Fatal(err)
	}
	noisy := append([]float32(nil), init...)
	p.InpaintingFill = FillLatentNoise
	if err := fillLatent(noisy, keep, p, sample.SourceCPU, 8, 8); err != nil {
		t.Fatal(err)
	}
	// webui: create_random_tensors with all_seeds[0:batch] = 100, 101
	rng, _ := sample.NewImageRNG([3]int{4, 8, 8}, sample.SeedParams{Source: sample.SourceCPU, Seeds: []int64{100, 101}})
	want, _ := rng.Next(0, 0)
	for i, k := range keep {
		switch {
		case k == 1 && (nothing[i] != 5 || noisy[i] != 5):
			t.Fatalf("kept value %d changed: %v %v", i, nothing[i], noisy[i])
		case k == 0 && (nothing[i] != 0 || noisy[i] != want[i]):
			t.Fatalf("repainted value %d: nothing %v, noise %v want %v", i, nothing[i], noisy[i], want[i])
		}
	}
}

func TestConcatUNet(t *testing.T) {
	// 2 images, 1x1 latents; the CFG batch holds cond then uncond halves
	cond := []float32{10, 11, 12, 13, 14, 20, 21, 22, 23, 24}
	var got []float32
	var shape []int
	f := concatUNet(func(x []float32, xShape []int, _ []float32, _ []float32, _ []int, _ []float32) ([]float32, error) {
		got, shape = x, xShape
		return make([]float32, xShape[0]*4), nil
	}, cond, 2)
	x := []float32{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4}
	if _, err := f(x, []int{4, 4, 1, 1}, nil, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	want := []float32{1, 1, 1, 1, 10, 11, 12, 13, 14, 2, 2, 2, 2, 20, 21, 22, 23, 24,
		3, 3, 3, 3, 10, 11, 12, 13, 14, 4, 4, 4, 4, 20, 21, 22, 23, 24}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(shape, []int{4, 9, 1, 1}) {
		t.Errorf("got %v %v", got, shape)
	}
}

func TestImg2ImgValidate(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	p := Img2ImgParams{Params: Params{Width: 60, Steps: 10}, DenoisingStrength: 2, ResizeMode: 5, InpaintingFill: 9,
		MaskBlur: -1, Init: []image.Image{img, img}}
	err := p.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v", err)
	}
	for _, want := range []string{"width 60", "2 init images for a batch of 1", "denoising strength 2", "resize mode 5",
		"inpainting fill 9", "mask blur -1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	ok := Img2ImgParams{Params: Params{Width: 64, Height: 64}, Init: []image.Image{img}, DenoisingStrength: 0.5}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
	none := Img2ImgParams{Params: Params{Width: 64, Height: 64}}
	if err := none.Validate(); err == nil || !strings.Contains(err.Error(), "needs an init image") {
		t.Errorf("no init image: %v", err)
	}
}
