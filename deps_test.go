package sdgo_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// layer of each package under sdgo/internal (plus cmd): imports must point to
// lower layers (or the standard library and GoMLX where allowed). See
// shared/docs/STYLE.md section 4.
var layer = map[string]int{
	"fixture": 1, "safetensors": 0, "pickle": 0, "tokenizer": 0, "prompt": 0, "infotext": 0, "imagefile": 1,
	"cudnn": 0, "xlaasync": 0, "nn": 1, "sample": 1, "checkpoint": 1,
	"clip": 2, "unet": 2, "vae": 2, "lora": 2, "modelstore": 2, "embedding": 1,
	"model":    3,
	"pipeline": 4, "verify": 5, "engine": 5,
	"server": 6,
	"cli":    7, "testutil": 9,
	"api": 0, "config": 0, "webui": 0, "upscale": 1, "par": 0,
}

// forbidden lists imports that must never appear, with the reason.
var forbidden = []struct {
	from, to, why string
}{
	{"sample", "github.com/gomlx/", "samplers do plain-Go arithmetic on host latents; they see a Denoiser, never GoMLX"},
	{"tokenizer", "github.com/gomlx/", "the tokenizer is text processing"},
	{"prompt", "github.com/gomlx/", "the prompt parser is text processing"},
	{"embedding", "github.com/gomlx/", "embedding files are read into plain vectors; the model package puts them in graphs"},
	{"clip", "sdgo/internal/checkpoint", "graph packages are pure functions of weights in a scope; files belong to checkpoint/model"},
	{"unet", "sdgo/internal/checkpoint", "graph packages are pure functions of weights in a scope"},
	{"vae", "sdgo/internal/checkpoint", "graph packages are pure functions of weights in a scope"},
	{"clip", "sdgo/internal/model", "model builds on clip, not the reverse"},
	{"unet", "sdgo/internal/model", "model builds on unet, not the reverse"},
	{"vae", "sdgo/internal/model", "model builds on vae, not the reverse"},
	{"nn", "github.com/gomlx/gomlx/backends/", "only model opens a GoMLX backend"},
	{"cudnn", "github.com/gomlx/gomlx/backends/", "only model opens a GoMLX backend; cudnn reaches the XLA backend's nodes by reflection"},
	{"xlaasync", "github.com/gomlx/", "xlaasync reaches the XLA backend's plugin by reflection"},
	{"clip", "github.com/gomlx/gomlx/backends/", "only model opens a GoMLX backend"},
	{"unet", "github.com/gomlx/gomlx/backends/", "only model opens a GoMLX backend"},
	{"vae", "github.com/gomlx/gomlx/backends/", "only model opens a GoMLX backend"},
	{"sample", "sdgo/internal/model", "samplers see only a Denoiser function"},
}

// noHTTP lists packages that must not import net/http themselves (GoMLX's
// plugin installer pulls it in indirectly; that is not ours to police).
var noHTTP = []string{"safetensors", "pickle", "checkpoint", "model", "sample", "pipeline", "engine"}

type pkgInfo struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkgInfo {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkgInfo
	for dec.More() {
		var p pkgInfo
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func short(path string) string {
	return strings.TrimPrefix(strings.TrimPrefix(path, "sdgo/internal/"), "sdgo/")
}

func TestImportsPointDown(t *testing.T) {
	for _, p := range listPackages(t) {
		from := short(p.ImportPath)
		fromLayer, known := layer[from]
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, "sdgo/") {
				continue
			}
			to := short(imp)
			toLayer, ok := layer[to]
			if !known || !ok {
				continue
			}
			if toLayer >= fromLayer && from != "testutil" {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must point down the flow", from, fromLayer, to, toLayer)
			}
		}
		for _, n := range noHTTP {
			for _, imp := range p.Imports {
				if from == n && imp == "net/http" {
					t.Errorf("%s imports net/http: nothing below the server speaks HTTP", from)
				}
			}
		}
		for _, f := range forbidden {
			if from != f.from {
				continue
			}
			for _, d := range p.Deps {
				if strings.HasPrefix(d, f.to) {
					t.Errorf("%s depends on %s: %s", from, d, f.why)
					break
				}
			}
		}
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Doc}}", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, doc, _ := strings.Cut(line, "\t")
		if strings.TrimSpace(doc) == "" {
			t.Errorf("package %s has no package doc comment (add a doc.go)", path)
		}
	}
}
