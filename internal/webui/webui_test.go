package webui

import (
	"io/fs"
	"strings"
	"testing"
)

// TestFilesAreEmbedded checks the page's files are embedded and hold the
// pieces the server and the browser test rely on. The page's behaviour is
// tested in a real browser by internal/server's TestBrowserTxt2ImgThenImg2Img.
func TestFilesAreEmbedded(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"index.html", `src="/static/app.js"`},
		{"index.html", `id="tab-img2img"`},
		{"index.html", `id="denoising_strength"`},
		{"index.html", `id="send-img2img"`},
		{"index.html", `id="png-drop"`},
		{"app.js", "/api/v1/jobs"},
		{"app.js", "/sdapi/v1/png-info"},
		{"app.js", "init_images"},
		{"index.html", `id="mask-canvas"`},
		{"index.html", `id="mask_blur"`},
		{"index.html", `id="inpainting_fill"`},
		{"index.html", `id="tab-settings"`},
		{"index.html", `id="opt-checkpoint"`},
		{"app.js", "/sdapi/v1/sd-vae"},
		{"app.js", "CLIP_stop_at_last_layers"},
		{"app.js", "inpainting_mask_invert"},
		{"style.css", "#generate"},
	} {
		b, err := fs.ReadFile(FS(), c.name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), c.want) {
			t.Errorf("%s does not contain %q", c.name, c.want)
		}
	}
}

// TestNoInlineCode keeps the page working under the server's
// Content-Security-Policy (scripts and styles from 'self' only).
func TestNoInlineCode(t *testing.T) {
	b, err := fs.ReadFile(FS(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", " onchange=", " oninput="} {
		if strings.Contains(page, bad) {
			t.Errorf("index.html has inline code %q, which the CSP blocks", bad)
		}
	}
}
