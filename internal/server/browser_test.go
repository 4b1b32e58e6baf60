package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"sdgo/internal/imagefile"
)

// The browser test drives the web UI in headless Chromium. It needs a
// Chromium (or Chrome) binary: $CHROME when set, else chromium on the PATH
// or /usr/bin/chromium (Debian: apt-get install chromium; .ci/run installs
// it). Without one the test fails; SDGO_SKIP_BROWSER=1 skips it on purpose.
const (
	envChrome      = "CHROME"
	envSkipBrowser = "SDGO_SKIP_BROWSER"
)

// chromePath finds the browser, or fails (skips only when asked).
func chromePath(t *testing.T) string {
	t.Helper()
	if os.Getenv(envSkipBrowser) == "1" {
		t.Skipf("%s=1: web UI browser test skipped on request", envSkipBrowser)
	}
	if p := os.Getenv(envChrome); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("browser test: $%s=%q is not an executable: %v", envChrome, p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("browser test: no Chromium found (looked at $%s, chromium, /usr/bin/chromium, chromium-browser, google-chrome): "+
		"install it with `apt-get install chromium`, or point $%s at a Chrome or Chromium binary, "+
		"or set %s=1 to skip this test", envChrome, envChrome, envSkipBrowser)
	return ""
}

// browser starts headless Chromium with a fresh profile and returns its
// context, a func that lists the page's console errors so far, and the
// browser's own output (for failure messages). Cancel ctx to stop it.
func browser(t *testing.T, parent context.Context) (ctx context.Context, cancel func(), consoleErrors func() []string, output *bytes.Buffer) {
	t.Helper()
	output = &bytes.Buffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromePath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		// Without these Chromium's connections are refused in the sandboxed CI.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(output),
	)
	actx, acancel := chromedp.NewExecAllocator(parent, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	var (
		mu   sync.Mutex
		errs []string
	)
	msgs := chromedp.Console(bctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s: %s", m.Type, m.Text))
				mu.Unlock()
			}
		}
	}()
	cancel = func() {
		bcancel()
		acancel()
		<-done
	}
	consoleErrors = func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
	return bctx, cancel, consoleErrors, output
}

// shownImage is what the page shows in its viewer.
type shownImage struct {
	Src      string `json:"src"`
	Width    int    `json:"width"`
	Infotext string `json:"infotext"`
}

// waitImage waits until the viewer shows a finished (not preview), decoded
// image other than notSrc whose infotext contains want.
func waitImage(notSrc, want string) chromedp.Action[shownImage] {
	return chromedp.PollFunction[shownImage](`(notSrc, want) => {
		const img = document.getElementById("image"), info = document.getElementById("infotext").textContent;
		if (img.hidden || img.classList.contains("preview") || !img.complete || img.naturalWidth === 0) return null;
		if (img.getAttribute("src") === notSrc || !info.includes(want)) return null;
		return {src: img.getAttribute("src"), width: img.naturalWidth, infotext: info};
	}`, chromedp.WithPollingArgs(notSrc, want), chromedp.WithPollingTimeout(90*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))
}

// text waits until the element's text contains want and returns it.
func waitText(id, want string) chromedp.Action[string] {
	return chromedp.PollFunction[string](`(id, want) => {
		const el = document.getElementById(id);
		return el && !el.hidden && el.textContent.includes(want) ? el.textContent : null;
	}`, chromedp.WithPollingArgs(id, want), chromedp.WithPollingTimeout(30*time.Second))
}

// fetchPNG downloads an image the page shows and checks it is a PNG whose
// parameters chunk is the infotext shown.
func fetchPNG(t *testing.T, base string, im shownImage) []byte {
	t.Helper()
	resp, err := http.Get(base + im.Src)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "image/png" || !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("image %s: status %d, Content-Type %q, %d bytes: not a PNG", im.Src, resp.StatusCode, ct, len(data))
	}
	text, err := imagefile.ReadParameters(bytes.NewReader(data))
	if err != nil || text != im.Infotext {
		t.Fatalf("image %s: PNG parameters %q (%v), the page shows %q", im.Src, text, err, im.Infotext)
	}
	return data
}

// TestBrowserTxt2ImgThenImg2Img drives the web UI in headless Chromium on
// the tiny model: an img2img without an init image shows its error next to
// Generate; txt2img makes a 64x64 image shown with its infotext; the PNG
// info tab reads that image's parameters back and sends them to txt2img;
// "Send to img2img" carries the image and its parameters over, and an
// img2img at a lower denoising strength submitted with Ctrl+Enter shows
// a second image whose infotext has the denoising strength. About 5 s.
func TestBrowserTxt2ImgThenImg2Img(t *testing.T) {
	chromePath(t) // fail (or skip on request) before starting a model
	ts := newTestServer(t, true, nil)
	ctx, cancelAll := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancelAll()
	ctx, stop, consoleErrors, output := browser(t, ctx)
	defer stop()
	start := time.Now()
	fail := func(step string, err error) {
		t.Helper()
		var page string
		if html, err2 := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main"))); err2 == nil {
			page = html
		}
		t.Fatalf("%s: %v\nconsole errors: %q\npage: %s\nbrowser output (tail): %s", step, err, consoleErrors(), page, tail(output.String(), 2000))
	}
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			fail(step, err)
		}
	}
	get := func(step string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			fail(step, err)
		}
		return v
	}

	// 1. The page loads and fills its lists from the API.
	do("open the page", chromedp.Navigate(ts.URL+"/"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#sampler_name option").length > 0 && document.querySelector("#model option") !== null`))

	// 2. img2img with no init image: the error shows next to Generate.
	do("img2img without an image", chromedp.Click(chromedp.ID("tab-img2img")), chromedp.WaitVisible(chromedp.ID("denoising_strength")),
		chromedp.Click(chromedp.ID("generate")))
	if msg := get("img2img error", waitText("error", "init_images")); !strings.Contains(msg, "init image") && !strings.Contains(msg, "Send to img2img") {
		t.Errorf("error for a missing init image: %q", msg)
	}

	// 3. txt2img: a 64x64 image in 2 steps with a fixed seed.
	const prompt, seed = "a red fox in the snow", "1234"
	do("fill txt2img", chromedp.Click(chromedp.ID("tab-txt2img")), chromedp.WaitNotVisible(chromedp.ID("denoising_strength")),
		chromedp.SetValue(chromedp.ID("prompt"), prompt), chromedp.SetValue(chromedp.ID("steps"), "2"),
		chromedp.SetValue(chromedp.ID("width"), "64"), chromedp.SetValue(chromedp.ID("height"), "64"),
		chromedp.SetValue(chromedp.ID("seed"), seed), chromedp.Click(chromedp.ID("generate")))
	first, err := chromedp.Run(ctx, waitImage("", "Seed: "+seed))
	if err != nil {
		fail("txt2img image", err)
	}
	if first.Width != 64 || !strings.HasPrefix(first.Infotext, prompt+"\n") || !strings.Contains(first.Infotext, "Size: 64x64") ||
		strings.Contains(first.Infotext, "Denoising strength") {
		t.Errorf("txt2img shows a %d px wide image with infotext %q", first.Width, first.Infotext)
	}
	png1 := fetchPNG(t, ts.URL, first)
	if hidden, err := chromedp.Run(ctx, chromedp.JavascriptAttribute[bool](chromedp.ID("error"), "hidden")); err != nil || !hidden {
		t.Errorf("error box shown after txt2img: %q", get("error text", chromedp.Text(chromedp.ID("error"))))
	}

	// 4. PNG info: drop the image, read its parameters, send them to
	// txt2img over a cleared form.
	pngPath := filepath.Join(t.TempDir(), "first.png")
	if err := os.WriteFile(pngPath, png1, 0o644); err != nil {
		t.Fatal(err)
	}
	do("PNG info", chromedp.SetValue(chromedp.ID("prompt"), "something else"), chromedp.SetValue(chromedp.ID("seed"), "-1"),
		chromedp.Click(chromedp.ID("tab-pnginfo")), chromedp.SetUploadFiles(chromedp.ID("png-file"), []string{pngPath}))
	if text := get("PNG info text", waitText("png-text", "Seed: "+seed)); text != first.Infotext {
		t.Errorf("PNG info shows %q, want the image's infotext %q", text, first.Infotext)
	}
	do("send to txt2img", chromedp.WaitEnabled(chromedp.ID("png-to-txt2img")), chromedp.Click(chromedp.ID("png-to-txt2img")),
		chromedp.WaitVisible(chromedp.ID("prompt")))
	if p, s := get("prompt", chromedp.Value(chromedp.ID("prompt"))), get("seed", chromedp.Value(chromedp.ID("seed"))); p != prompt || s != seed {
		t.Errorf("PNG info sent prompt %q seed %q to txt2img, want %q %s", p, s, prompt, seed)
	}

	// 5. Send the result to img2img: the tab opens with the image as init
	// image and its parameters in the form.
	do("send to img2img", chromedp.SetValue(chromedp.ID("prompt"), "something else"), chromedp.Click(chromedp.ID("send-img2img")),
		chromedp.Poll[chromedp.Void](`document.getElementById("tab-img2img").getAttribute("aria-selected") === "true" &&
			!document.getElementById("init-image").hidden && document.getElementById("init-image").src.startsWith("data:image/png;base64,") &&
			document.getElementById("init-image").naturalWidth === 64`, chromedp.WithPollingTimeout(30*time.Second)))
	if p := get("img2img prompt", chromedp.Value(chromedp.ID("prompt"))); p != prompt {
		t.Errorf("Send to img2img left the prompt %q, want %q", p, prompt)
	}

	// 6. Lower the denoising strength with the keyboard to 0.6 and submit
	// with Ctrl+Enter from the prompt.
	keys := []chromedp.Action[chromedp.Void]{chromedp.Focus(chromedp.ID("denoising_strength"))}
	for range 15 {
		keys = append(keys, chromedp.KeyEvent(kb.ArrowLeft))
	}
	do("denoising strength", keys...)
	if v := get("denoising value", waitText("denoising-value", "0.6")); v != "0.6" {
		t.Errorf("denoising strength shows %q, want 0.6", v)
	}
	do("Ctrl+Enter", chromedp.Focus(chromedp.ID("prompt")), chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	second, err := chromedp.Run(ctx, waitImage(first.Src, "Denoising strength: 0.6"))
	if err != nil {
		fail("img2img image", err)
	}
	if second.Width != 64 || !strings.HasPrefix(second.Infotext, prompt+"\n") || !strings.Contains(second.Infotext, "Seed: "+seed) {
		t.Errorf("img2img shows a %d px wide image with infotext %q", second.Width, second.Infotext)
	}
	fetchPNG(t, ts.URL, second)
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("the page logged errors: %q", errs)
	}
	t.Logf("browser test: txt2img, PNG info and img2img in %v", time.Since(start).Round(time.Millisecond))
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
