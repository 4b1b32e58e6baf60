package server

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/chromedp/cdproto/input"
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
// a second image whose infotext has the denoising strength. Then a stroke
// painted with the mouse on the mask canvas makes an inpainting whose
// infotext has the mask blur and whose pixels away from the stroke are the
// init image's; the settings tab lists the tiny model and applies a clip
// skip through /sdapi/v1/options. About 5-10 s.
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

	// 7. Inpainting: paint a horizontal stroke (brush 12 px of the 64 px
	// image) across the left middle of the init image with the mouse.
	do("brush size", chromedp.SetValue(chromedp.ID("brush-size"), "12"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("mask-canvas").scrollIntoView({block: "center"})`))
	type rect struct{ Left, Top, Width, Height float64 }
	rc, err := chromedp.Run(ctx, chromedp.Evaluate[rect](`(() => {
		const c = document.getElementById("mask-canvas"), r = c.getBoundingClientRect();
		return {left: r.left, top: r.top, width: r.width, height: r.height};
	})()`))
	if err != nil || rc.Width < 64 || rc.Height < 64 {
		fail("mask canvas", fmt.Errorf("canvas at %+v: %v", rc, err))
	}
	// Image pixel (x, y) to viewport coordinates.
	at := func(x, y float64) (float64, float64) { return rc.Left + x*rc.Width/64, rc.Top + y*rc.Height/64 }
	held := func(p *input.DispatchMouseEventParams) { p.Button = input.MouseButtonLeft; p.Buttons = 1 }
	x0, y0 := at(10, 32)
	stroke := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MouseMoved, x0, y0),
		chromedp.MouseEvent(chromedp.MousePressed, x0, y0, held, chromedp.ClickCount(1))}
	for x := 12.0; x <= 30; x += 2 {
		xx, yy := at(x, 32)
		stroke = append(stroke, chromedp.MouseEvent(chromedp.MouseMoved, xx, yy, held))
	}
	x1, y1 := at(30, 32)
	stroke = append(stroke, chromedp.MouseEvent(chromedp.MouseReleased, x1, y1, held, chromedp.ClickCount(1)))
	do("paint the mask", stroke...)
	type maskInfo struct {
		Painted, Outside, Width int
	}
	mi, err := chromedp.Run(ctx, chromedp.Evaluate[maskInfo](`(() => {
		const c = document.getElementById("mask-canvas"), px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let painted = 0, outside = 0;
		for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
			if (!px[(y * c.width + x) * 4 + 3]) continue;
			painted++;
			if (x < 2 || x > 38 || y < 24 || y > 40) outside++;
		}
		return {painted, outside, width: c.width};
	})()`))
	if err != nil || mi.Width != 64 || mi.Painted < 150 || mi.Outside > 0 {
		fail("mask painted", fmt.Errorf("mask canvas %d px wide, %d px painted, %d outside the stroke's box (want 64, >= 150, 0): %v", mi.Width, mi.Painted, mi.Outside, err))
	}
	if s := get("mask status", waitText("mask-status", "mask painted")); s == "" {
		t.Error("the inpainting options do not say a mask is painted")
	}
	do("inpaint", chromedp.Click(chromedp.ID("generate")))
	third, err := chromedp.Run(ctx, waitImage(second.Src, "Mask blur: 4"))
	if err != nil {
		fail("inpainting image", err)
	}
	if third.Width != 64 || !strings.Contains(third.Infotext, "Denoising strength: 0.6") {
		t.Errorf("inpainting shows a %d px wide image with infotext %q", third.Width, third.Infotext)
	}
	fetchPNG(t, ts.URL, third)
	// Compare the result with the init image in the page: pixels well
	// away from the stroke (beyond the mask blur's reach) are the init
	// image's; pixels under the stroke are repainted.
	type diff struct {
		Far, FarDiffer, Near, NearDiffer int
		Err                              string
	}
	d, err := chromedp.Run(ctx, chromedp.Evaluate[diff](`(async () => {
		const pixels = async (src) => {
			const img = new Image();
			img.src = src;
			await img.decode();
			const c = document.createElement("canvas");
			c.width = img.naturalWidth; c.height = img.naturalHeight;
			const ctx = c.getContext("2d");
			ctx.drawImage(img, 0, 0);
			return ctx.getImageData(0, 0, c.width, c.height).data;
		};
		try {
			const a = await pixels(state.init), b = await pixels(document.getElementById("image").src);
			const r = {far: 0, farDiffer: 0, near: 0, nearDiffer: 0, err: ""};
			for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
				const i = (y * 64 + x) * 4;
				const same = a[i] === b[i] && a[i+1] === b[i+1] && a[i+2] === b[i+2];
				if (y < 12 || y >= 52 || x >= 52) { r.far++; if (!same) r.farDiffer++; }
				if (y >= 29 && y <= 35 && x >= 12 && x <= 28) { r.near++; if (!same) r.nearDiffer++; }
			}
			return r;
		} catch (e) { return {err: String(e)}; }
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || d.Err != "" {
		fail("compare pixels", fmt.Errorf("%v %s", err, d.Err))
	}
	t.Logf("mask: %d px painted; inpainting changed %d/%d pixels far from the stroke, %d/%d under it", mi.Painted, d.FarDiffer, d.Far, d.NearDiffer, d.Near)
	if d.Far == 0 || d.FarDiffer != 0 {
		t.Errorf("inpainting changed %d of %d pixels far from the painted stroke, want none", d.FarDiffer, d.Far)
	}
	if d.NearDiffer < d.Near/2 {
		t.Errorf("inpainting changed only %d of %d pixels under the painted stroke", d.NearDiffer, d.Near)
	}

	// 7b. Hires fix in txt2img: the fields show on the txt2img tab only (the
	// box is still off: the image sent from PNG info had no hires fields);
	// 1.5x of 64 px comes back 96 px wide with webui's hires fields.
	do("hires fix", chromedp.Click(chromedp.ID("tab-txt2img")), chromedp.WaitVisible(chromedp.ID("enable_hr")),
		chromedp.Poll[chromedp.Void](`!document.getElementById("enable_hr").checked`),
		chromedp.SetValue(chromedp.ID("hr_scale"), "1.5"), chromedp.SetValue(chromedp.ID("hr_second_pass_steps"), "1"),
		chromedp.SetValue(chromedp.ID("hr_upscaler"), "Nearest"), chromedp.Click(chromedp.ID("enable_hr")),
		chromedp.Poll[chromedp.Void](`document.getElementById("enable_hr").checked`), chromedp.Click(chromedp.ID("generate")))
	hires, err := chromedp.Run(ctx, waitImage(third.Src, "Hires upscale: 1.5"))
	if err != nil {
		fail("hires image", err)
	}
	if hires.Width != 96 || !strings.Contains(hires.Infotext, "Hires steps: 1") || !strings.Contains(hires.Infotext, "Hires upscaler: Nearest") {
		t.Errorf("hires fix shows a %d px wide image with infotext %q", hires.Width, hires.Infotext)
	}
	do("hires fields hidden in img2img", chromedp.Click(chromedp.ID("tab-img2img")), chromedp.WaitNotVisible(chromedp.ID("enable_hr")))

	// 8. Settings: the checkpoint select lists the server's models with the
	// current one chosen; a clip skip of 2 is applied through the options.
	var models []struct {
		Title string `json:"title"`
	}
	getAPI(t, ts.URL+"/sdapi/v1/sd-models", &models)
	if len(models) == 0 {
		t.Fatal("sd-models lists no model")
	}
	do("settings tab", chromedp.Click(chromedp.ID("tab-settings")), chromedp.WaitVisible(chromedp.ID("opt-checkpoint")),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#opt-checkpoint option").length > 0 && document.getElementById("settings-status").textContent.startsWith("Now:")`,
			chromedp.WithPollingTimeout(30*time.Second)))
	type choice struct {
		Options []string
		Value   string
		Clip    string
	}
	ch, err := chromedp.Run(ctx, chromedp.Evaluate[choice](`({options: [...document.querySelectorAll("#opt-checkpoint option")].map((o) => o.value),
		value: document.getElementById("opt-checkpoint").value, clip: document.getElementById("opt-clip-skip").value})`))
	if err != nil {
		fail("settings values", err)
	}
	var opts map[string]any
	getAPI(t, ts.URL+"/sdapi/v1/options", &opts)
	if len(ch.Options) != len(models) || ch.Options[0] != models[0].Title || ch.Value != opts["sd_model_checkpoint"] || ch.Clip != "1" {
		t.Errorf("settings: checkpoint select %q with %q chosen, clip skip %q; want the sd-models titles (%v) with %v chosen, clip skip 1",
			ch.Options, ch.Value, ch.Clip, models, opts["sd_model_checkpoint"])
	}
	do("apply clip skip", chromedp.SetValue(chromedp.ID("opt-clip-skip"), "2"), chromedp.Click(chromedp.ID("settings-apply")))
	get("settings applied", waitText("settings-status", "Applied."))
	getAPI(t, ts.URL+"/sdapi/v1/options", &opts)
	if opts["CLIP_stop_at_last_layers"] != 2.0 {
		t.Errorf("after applying clip skip 2 the options say %v", opts["CLIP_stop_at_last_layers"])
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("the page logged errors: %q", errs)
	}
	t.Logf("browser test: txt2img, PNG info, img2img, inpainting and settings in %v", time.Since(start).Round(time.Millisecond))
}

// getAPI GETs url and decodes its JSON into v.
func getAPI(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
