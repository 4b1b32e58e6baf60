package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"sdgo/api"
	"sdgo/internal/imagefile"
)

// TestLoadManyClients is the load test on the real tiny model: 20 clients
// on loopback at once, half through the blocking webui endpoint and half
// through the job API, each asking for one 64x64 image with its own seed,
// behind two jobs that fail (a panic and an error). Every client must get
// exactly its own image (its seed in the PNG's infotext), none lost, and
// the failures must stay with their jobs. About 20 generations: ~1 minute
// on 2 cores (4 clients with -short).
func TestLoadManyClients(t *testing.T) {
	clients := 20
	if testing.Short() {
		clients = 4
	}
	ts := newTestServer(t, true, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	// The failing jobs go first, so the good ones run after them.
	var bad []*api.Job
	for _, prompt := range []string{panicPrompt, errorPrompt} {
		q := api.NewTxt2ImgRequest()
		q.Prompt, q.Width, q.Height, q.Steps = prompt, 64, 64, 2
		j, err := ts.client.Submit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		bad = append(bad, j)
	}
	type result struct {
		seed int64
		png  []byte
		err  error
	}
	results := make([]result, clients)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			seed := int64(1000 + 7*i)
			c := api.NewClient(ts.URL)
			c.HTTP = &http.Client{Transport: &http.Transport{}} // a connection of its own
			q := api.NewTxt2ImgRequest()
			q.Prompt, q.Width, q.Height, q.Steps, q.Seed, q.SamplerName = fmt.Sprintf("client %d", i), 64, 64, 2, seed, "Euler"
			var png []byte
			var err error
			if i%2 == 0 {
				png, err = viaSDAPI(ctx, c, q)
			} else {
				png, err = viaJobs(ctx, c, q)
			}
			results[i] = result{seed, png, err}
		}(i)
	}
	wg.Wait()
	t.Logf("%d clients served in %v", clients, time.Since(start).Round(time.Millisecond))
	seen := map[[32]byte]int{}
	for i, r := range results {
		if r.err != nil {
			t.Errorf("client %d: %v", i, r.err)
			continue
		}
		img, err := png.Decode(bytes.NewReader(r.png))
		if err != nil || img.Bounds().Dx() != 64 || img.Bounds().Dy() != 64 {
			t.Errorf("client %d: image %v %v", i, err, img)
		}
		text, _ := imagefile.ReadParameters(bytes.NewReader(r.png))
		if !strings.HasPrefix(text, fmt.Sprintf("client %d\n", i)) || !strings.Contains(text, fmt.Sprintf("Seed: %d,", r.seed)) ||
			!strings.Contains(text, "Model hash: 7c4e1508e0, Model: tiny,") {
			t.Errorf("client %d (seed %d) got infotext %q", i, r.seed, text)
		}
		sum := sha256.Sum256(r.png)
		if k, dup := seen[sum]; dup {
			t.Errorf("clients %d and %d got the same image", k, i)
		}
		seen[sum] = i
	}
	for _, j := range bad {
		f, err := ts.client.Job(ctx, j.ID)
		if err != nil || f.Status != api.JobFailed || !strings.Contains(f.Error, "injected test") {
			t.Errorf("failing job: %+v %v", f, err)
		}
	}
	if p, err := ts.client.Progress(ctx, true); err != nil || p.QueuedJobs != 0 {
		t.Errorf("server after the load: %+v %v", p, err)
	}
}

// viaSDAPI generates through POST /sdapi/v1/txt2img and checks the info.
func viaSDAPI(ctx context.Context, c *api.Client, q api.Txt2ImgRequest) ([]byte, error) {
	resp, err := c.Txt2Img(ctx, q)
	if err != nil {
		return nil, err
	}
	var info api.GenerationInfo
	if err := json.Unmarshal([]byte(resp.Info), &info); err != nil {
		return nil, err
	}
	if len(resp.Images) != 1 || len(info.AllSeeds) != 1 || info.AllSeeds[0] != q.Seed || info.SDModelHash != "7c4e1508e0" {
		return nil, fmt.Errorf("%d images, info %+v", len(resp.Images), info)
	}
	return base64.StdEncoding.DecodeString(resp.Images[0])
}

// viaJobs generates through the job API: submit, follow events, fetch.
func viaJobs(ctx context.Context, c *api.Client, q api.Txt2ImgRequest) ([]byte, error) {
	j, err := c.Submit(ctx, q)
	if err != nil {
		return nil, err
	}
	final, err := c.Wait(ctx, j.ID)
	if err != nil {
		return nil, err
	}
	if final.Status != api.JobDone || len(final.Images) != 1 || final.Images[0].Seed != q.Seed {
		return nil, fmt.Errorf("job %+v", final)
	}
	return c.Image(ctx, j.ID, 0)
}

// TestRealImg2Img runs one img2img and one inpainting job on the tiny model
// through the webui endpoint.
func TestRealImg2Img(t *testing.T) {
	ts := newTestServer(t, true, nil)
	for _, extra := range []map[string]any{
		{"denoising_strength": 0.5},
		{"denoising_strength": 0.6, "mask": pngB64(t, 64, 64), "inpainting_fill": 1},
	} {
		var resp api.Img2ImgResponse
		ts.callJSON(t, "POST", "/sdapi/v1/img2img", img2imgBody(t, extra), 200, &resp)
		b, err := base64.StdEncoding.DecodeString(resp.Images[0])
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Dx() != 64 {
			t.Fatalf("image %v %v", err, img)
		}
		text, _ := imagefile.ReadParameters(bytes.NewReader(b))
		if !strings.Contains(text, fmt.Sprintf("Denoising strength: %v", extra["denoising_strength"])) || !strings.Contains(text, "Seed: 3,") {
			t.Errorf("infotext %q", text)
		}
	}
}
