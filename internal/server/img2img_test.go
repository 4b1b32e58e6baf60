package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"sdgo/api"
)

// pngB64 is a w x h gradient as base64 PNG.
func pngB64(t testing.TB, w, h int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 4), uint8(y * 4), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func img2imgBody(t testing.TB, extra map[string]any) map[string]any {
	b := map[string]any{"prompt": "a fox", "width": 64, "height": 64, "steps": 2, "seed": 3, "init_images": []string{pngB64(t, 64, 64)}}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func TestImg2ImgShape(t *testing.T) {
	ts := newTestServer(t, false, nil)
	var resp api.Img2ImgResponse
	ts.callJSON(t, "POST", "/sdapi/v1/img2img", img2imgBody(t, map[string]any{
		"denoising_strength": 0.5, "mask": "data:image/png;base64," + pngB64(t, 64, 64), "mask_blur": 6,
		"inpainting_fill": 2, "inpaint_full_res": false, "inpainting_mask_invert": 1, "initial_noise_multiplier": 1.5,
	}), 200, &resp)
	if len(resp.Images) != 1 {
		t.Fatalf("%d images", len(resp.Images))
	}
	ip := ts.gen.lastImg2Img()
	if len(ip.Init) != 1 || ip.Mask == nil || ip.DenoisingStrength != 0.5 || ip.MaskBlur != 6 || ip.InpaintingFill != 2 ||
		ip.InpaintFullRes || !ip.InvertMask || ip.NoiseMultiplier != 1.5 || ip.Seed != 3 || ip.Width != 64 {
		t.Errorf("img2img reached the pipeline as %+v", ip)
	}
	var echo map[string]any
	json.Unmarshal(resp.Parameters, &echo)
	if echo["init_images"] != nil || echo["mask"] != nil || echo["denoising_strength"] != 0.5 || echo["resize_mode"] != 0.0 || echo["mask_round"] != true {
		t.Errorf("echo %v", echo)
	}
	var info api.GenerationInfo
	json.Unmarshal([]byte(resp.Info), &info)
	if info.DenoisingStrength == nil || *info.DenoisingStrength != 0.5 || info.AllSeeds[0] != 3 {
		t.Errorf("info %+v", info)
	}
	// Defaults, the echo of the images, and several init images as the batch.
	ts.callJSON(t, "POST", "/sdapi/v1/img2img", img2imgBody(t, map[string]any{"include_init_images": true,
		"batch_size": 2, "init_images": []string{pngB64(t, 64, 64), pngB64(t, 32, 32)}}), 200, &resp)
	ip = ts.gen.lastImg2Img()
	if len(ip.Init) != 2 || ip.DenoisingStrength != 0.75 || ip.MaskBlur != 4 || !ip.InpaintFullRes || ip.Mask != nil || len(resp.Images) != 2 {
		t.Errorf("defaults: %+v, %d images", ip, len(resp.Images))
	}
	json.Unmarshal(resp.Parameters, &echo)
	if imgs, _ := echo["init_images"].([]any); len(imgs) != 2 {
		t.Errorf("include_init_images: echo has %v", echo["init_images"])
	}
}

func TestImg2ImgValidation(t *testing.T) {
	ts := newTestServer(t, false, nil)
	tall := pngB64(t, 1, 9000)
	for _, tt := range []struct {
		name   string
		extra  map[string]any
		fields []string
	}{
		{"no image", map[string]any{"init_images": []string{}}, []string{"init_images"}},
		{"bad base64", map[string]any{"init_images": []string{"%%%"}}, []string{"init_images.0"}},
		{"not an image", map[string]any{"init_images": []string{base64.StdEncoding.EncodeToString([]byte("hello"))}}, []string{"init_images.0"}},
		{"too tall", map[string]any{"init_images": []string{tall}}, []string{"init_images.0"}},
		{"too many", map[string]any{"init_images": []string{tall, tall, tall}, "batch_size": 2}, []string{"init_images", "init_images.0", "init_images.1", "init_images.2"}},
		{"strength", map[string]any{"denoising_strength": 1.5}, []string{"denoising_strength"}},
		{"resize mode", map[string]any{"resize_mode": 4}, []string{"resize_mode"}},
		{"fill", map[string]any{"inpainting_fill": -1}, []string{"inpainting_fill"}},
		{"blur x/y", map[string]any{"mask_blur_x": 4, "mask_blur_y": 8}, []string{"mask_blur_y"}},
		{"mask round", map[string]any{"mask_round": false}, []string{"mask_round"}},
		{"latent mask", map[string]any{"latent_mask": "x"}, []string{"latent_mask"}},
		{"bad mask", map[string]any{"mask": "x"}, []string{"mask"}},
		{"shared fields too", map[string]any{"width": 60, "restore_faces": true}, []string{"width", "restore_faces"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var e api.Error
			ts.callJSON(t, "POST", "/sdapi/v1/img2img", img2imgBody(t, tt.extra), 422, &e)
			var got []string
			for _, f := range e.Fields {
				got = append(got, strings.Join(f.Loc[1:], "."))
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields %v, want %v: %s", got, tt.fields, e.Detail)
			}
		})
	}
}

func TestImg2ImgJob(t *testing.T) {
	ts := newTestServer(t, false, nil)
	var job api.Job
	ts.callJSON(t, "POST", "/api/v1/jobs", img2imgBody(t, map[string]any{"denoising_strength": 0.3}), 202, &job)
	final, err := ts.client.Wait(t.Context(), job.ID)
	if err != nil || final.Status != api.JobDone || len(final.Images) != 1 {
		t.Fatalf("%+v %v", final, err)
	}
	if ip := ts.gen.lastImg2Img(); ip.DenoisingStrength != 0.3 || len(ip.Init) != 1 {
		t.Errorf("job ran as %+v", ip)
	}
	ts.callJSON(t, "POST", "/api/v1/jobs", map[string]any{"init_images": []string{"%%%"}}, 422, nil)
}
