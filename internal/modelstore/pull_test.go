package modelstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sdgo/internal/fixture"
	"sdgo/internal/modelstore"
)

var (
	fixtureOnce sync.Once
	fixtureData []byte
	fixtureSHA  string
	fixtureErr  error
)

// tinyModel returns the bytes and sha256 of the shared tiny SD1 model.
func tinyModel(t *testing.T) ([]byte, string) {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := fixture.FindDir()
		if err != nil {
			fixtureErr = err
			return
		}
		fixtureData, fixtureErr = os.ReadFile(filepath.Join(dir, "tiny-sd1", "model.safetensors"))
		sum := sha256.Sum256(fixtureData)
		fixtureSHA = hex.EncodeToString(sum[:])
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureData, fixtureSHA
}

// hub is a fake Hugging Face hub serving one repository's files.
type hub struct {
	t        *testing.T
	files    map[string][]byte // path in repo -> content
	siblings []string          // the /api/models listing
	sha      string            // announced sha256 ("" = the real one)
	redirect bool              // answer resolve with a 302 to a CDN path, as the hub does for LFS files
	token    string            // required bearer token ("" = none)
	cutAfter int               // the first download request stops after this many bytes (0 = never)
	noRange  bool              // ignore Range and always send the whole file with 200

	mu     sync.Mutex
	ranges []string // Range header of each download request
}

func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/models/test/tiny"):
		var sib []map[string]string
		for _, s := range h.siblings {
			sib = append(sib, map[string]string{"rfilename": s})
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "test/tiny", "siblings": sib})
	case strings.HasPrefix(p, "/test/tiny/resolve/main/"):
		name := strings.TrimPrefix(p, "/test/tiny/resolve/main/")
		data, ok := h.files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		if h.sha != "" {
			sha = h.sha
		}
		if h.redirect {
			w.Header().Set("X-Linked-Etag", `"`+sha+`"`)
			w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
			http.Redirect(w, r, "/cdn/"+name, http.StatusFound)
			return
		}
		w.Header().Set("ETag", `"`+sha+`"`)
		h.serve(w, r, data)
	case strings.HasPrefix(p, "/cdn/"):
		data, ok := h.files[strings.TrimPrefix(p, "/cdn/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", `"cdn-opaque-tag"`)
		h.serve(w, r, data)
	default:
		http.NotFound(w, r)
	}
}

// serve sends data with Range support; the first request is cut short
// when cutAfter is set (the connection closes mid-body).
func (h *hub) serve(w http.ResponseWriter, r *http.Request, data []byte) {
	h.mu.Lock()
	h.ranges = append(h.ranges, r.Header.Get("Range"))
	first := len(h.ranges) == 1
	h.mu.Unlock()
	if first && h.cutAfter > 0 && r.Header.Get("Range") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:h.cutAfter])
		// Returning short of Content-Length makes the server close the connection.
		return
	}
	if h.noRange {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func newHub(t *testing.T, h *hub) string {
	h.t = t
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestPullDownloadsAndVerifies(t *testing.T) {
	data, sha := tinyModel(t)
	for _, redirect := range []bool{false, true} {
		t.Run("redirect="+strconv.FormatBool(redirect), func(t *testing.T) {
			h := &hub{files: map[string][]byte{"model.safetensors": data}, redirect: redirect}
			dir := t.TempDir()
			var last, total int64
			opts := modelstore.Options{Endpoint: newHub(t, h), Dir: dir}
			r, err := modelstore.PullFile(context.Background(), opts, "test/tiny", "model.safetensors", func(d, n int64) { last, total = d, n })
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(dir, "Stable-diffusion", "model.safetensors")
			if r.Path != want || !r.Verified || r.SHA256 != sha || r.Size != int64(len(data)) {
				t.Errorf("result %+v, want path %s verified sha %s", r, want, sha)
			}
			got, _ := os.ReadFile(want)
			if !bytes.Equal(got, data) {
				t.Errorf("downloaded %d bytes differ from the fixture's %d", len(got), len(data))
			}
			if last != int64(len(data)) || total != int64(len(data)) {
				t.Errorf("last progress %d/%d, want %d/%d", last, total, len(data), len(data))
			}
			if _, err := os.Stat(want + ".part"); !os.IsNotExist(err) {
				t.Errorf(".part left behind: %v", err)
			}
			// A second pull refuses to overwrite; --force downloads again.
			if _, err := modelstore.Pull(context.Background(), opts, "test/tiny", "model.safetensors", nil); !errors.Is(err, modelstore.ErrExists) {
				t.Errorf("second pull: %v, want ErrExists", err)
			}
			opts.Force = true
			if _, err := modelstore.Pull(context.Background(), opts, "test/tiny", "model.safetensors", nil); err != nil {
				t.Errorf("forced pull: %v", err)
			}
		})
	}
}

func TestPullResumesWithRange(t *testing.T) {
	data, sha := tinyModel(t)
	const cut = 1 << 20
	for _, tc := range []struct {
		name     string
		attempts int
	}{{"second call resumes", 1}, {"retries within one call", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			h := &hub{files: map[string][]byte{"model.safetensors": data}, cutAfter: cut}
			dir := t.TempDir()
			opts := modelstore.Options{Endpoint: newHub(t, h), Dir: dir, Attempts: tc.attempts}
			dest := filepath.Join(dir, "Stable-diffusion", "model.safetensors")
			if tc.attempts == 1 {
				_, err := modelstore.Pull(context.Background(), opts, "test/tiny", "model.safetensors", nil)
				if err == nil || !strings.Contains(err.Error(), "run again to resume") {
					t.Fatalf("cut download: err %v, want a resumable error", err)
				}
				fi, err := os.Stat(dest + ".part")
				if err != nil || fi.Size() != cut {
					t.Fatalf(".part after the cut: %v, %v; want %d bytes", fi, err, cut)
				}
				if _, err := os.Stat(dest); !os.IsNotExist(err) {
					t.Fatalf("final file exists after a broken download")
				}
			}
			r, err := modelstore.PullFile(context.Background(), opts, "test/tiny", "model.safetensors", nil)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Resumed || !r.Verified || r.SHA256 != sha {
				t.Errorf("result %+v: want resumed and verified", r)
			}
			if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
				t.Errorf("resumed file differs from the fixture")
			}
			want := []string{"", "bytes=" + strconv.Itoa(cut) + "-"}
			if strings.Join(h.ranges, "|") != strings.Join(want, "|") {
				t.Errorf("Range headers %q, want %q", h.ranges, want)
			}
		})
	}
}

func TestPullRefusesBadChecksum(t *testing.T) {
	data, _ := tinyModel(t)
	for _, redirect := range []bool{false, true} {
		h := &hub{files: map[string][]byte{"model.safetensors": data}, redirect: redirect, sha: strings.Repeat("ab", 32)}
		dir := t.TempDir()
		_, err := modelstore.Pull(context.Background(), modelstore.Options{Endpoint: newHub(t, h), Dir: dir}, "test/tiny", "model.safetensors", nil)
		if !errors.Is(err, modelstore.ErrChecksum) {
			t.Errorf("redirect=%v: err %v, want ErrChecksum", redirect, err)
		}
		entries, _ := os.ReadDir(filepath.Join(dir, "Stable-diffusion"))
		if len(entries) != 0 {
			t.Errorf("redirect=%v: files left after a bad checksum: %v", redirect, entries)
		}
	}
}

func TestPullErrors(t *testing.T) {
	data, _ := tinyModel(t)
	tests := []struct {
		name, token, repo, file string
		hubToken                string
		is                      error
		contains                []string
	}{
		{name: "404 names the URL", repo: "test/tiny", file: "missing.safetensors", is: modelstore.ErrNotFound,
			contains: []string{"404", "/test/tiny/resolve/main/missing.safetensors"}},
		{name: "401 says set HF_TOKEN", repo: "test/tiny", file: "model.safetensors", hubToken: "secret", is: modelstore.ErrAuth,
			contains: []string{"401", "set HF_TOKEN"}},
		{name: "401 with a wrong token", token: "wrong", repo: "test/tiny", file: "model.safetensors", hubToken: "secret", is: modelstore.ErrAuth,
			contains: []string{"HF_TOKEN was refused"}},
		{name: "traversal in file", repo: "test/tiny", file: "../../etc/passwd", is: modelstore.ErrBadName},
		{name: "traversal in middle", repo: "test/tiny", file: "a/../../x.safetensors", is: modelstore.ErrBadName},
		{name: "absolute file", repo: "test/tiny", file: "/etc/passwd", is: modelstore.ErrBadName},
		{name: "backslash file", repo: "test/tiny", file: `..\x.safetensors`, is: modelstore.ErrBadName},
		{name: "bad repo", repo: "../tiny", file: "model.safetensors", is: modelstore.ErrBadName},
		{name: "repo with three parts", repo: "a/b/c", file: "model.safetensors", is: modelstore.ErrBadName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &hub{files: map[string][]byte{"model.safetensors": data}, token: tc.hubToken}
			dir := t.TempDir()
			opts := modelstore.Options{Endpoint: newHub(t, h), Dir: dir, Token: tc.token}
			_, err := modelstore.Pull(context.Background(), opts, tc.repo, tc.file, nil)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err %v, want %v", err, tc.is)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if m, _ := modelstore.List(dir); len(m) != 0 {
				t.Errorf("files written: %v", m)
			}
		})
	}
	t.Run("token is sent", func(t *testing.T) {
		h := &hub{files: map[string][]byte{"model.safetensors": data}, token: "secret"}
		opts := modelstore.Options{Endpoint: newHub(t, h), Dir: t.TempDir(), Token: "secret", Kind: modelstore.VAE}
		p, err := modelstore.Pull(context.Background(), opts, "test/tiny", "model.safetensors", nil)
		if err != nil || filepath.Base(filepath.Dir(p)) != "VAE" {
			t.Fatalf("pull with token: %s, %v; want a file in VAE/", p, err)
		}
	})
}

func TestPullPicksCheckpoint(t *testing.T) {
	data, _ := tinyModel(t)
	tests := []struct {
		name     string
		siblings []string
		want     string
		errHas   string
	}{
		{"single", []string{"README.md", "model.safetensors", "unet/diffusion_pytorch_model.safetensors"}, "model.safetensors", ""},
		{"prefers fp16", []string{"model.safetensors", "model.fp16.safetensors"}, "model.fp16.safetensors", ""},
		{"ambiguous", []string{"a.safetensors", "b.safetensors"}, "", "a.safetensors, b.safetensors"},
		{"none", []string{"unet/diffusion_pytorch_model.safetensors", "model.ckpt"}, "", "no top-level .safetensors"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string][]byte{}
			for _, s := range tc.siblings {
				files[s] = data
			}
			h := &hub{files: files, siblings: tc.siblings}
			dir := t.TempDir()
			p, err := modelstore.Pull(context.Background(), modelstore.Options{Endpoint: newHub(t, h), Dir: dir}, "test/tiny", "", nil)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err %v, want one naming %q", err, tc.errHas)
				}
				return
			}
			if err != nil || filepath.Base(p) != tc.want {
				t.Fatalf("got %s, %v; want %s", p, err, tc.want)
			}
		})
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct{ in, repo, file string }{
		{"owner/repo", "owner/repo", ""},
		{"owner/repo/model.safetensors", "owner/repo", "model.safetensors"},
		{"owner/repo/sub/dir/x.safetensors", "owner/repo", "sub/dir/x.safetensors"},
		{"owner", "", ""},
		{"owner/repo/../x", "", ""},
	}
	for _, tc := range tests {
		repo, file, err := modelstore.ParseRef(tc.in)
		if repo != tc.repo || file != tc.file || (tc.repo == "") != (err != nil) {
			t.Errorf("ParseRef(%q) = %q, %q, %v; want %q, %q", tc.in, repo, file, err, tc.repo, tc.file)
		}
	}
}

// TestPullPartFile covers a .part left by an earlier run: a server that
// ignores Range restarts from zero, a complete .part is only checked.
func TestPullPartFile(t *testing.T) {
	data, sha := tinyModel(t)
	tests := []struct {
		name    string
		part    []byte
		noRange bool
		ranges  string
	}{
		{"server ignores Range", []byte("garbage that must be replaced"), true, "bytes=29-"},
		{"part already complete", data, false, "bytes=" + strconv.Itoa(len(data)) + "-"},
		{"part is a prefix", data[:12345], false, "bytes=12345-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &hub{files: map[string][]byte{"model.safetensors": data}, noRange: tc.noRange}
			dir := t.TempDir()
			dest := filepath.Join(dir, "Stable-diffusion", "model.safetensors")
			os.MkdirAll(filepath.Dir(dest), 0o755)
			if err := os.WriteFile(dest+".part", tc.part, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := modelstore.PullFile(context.Background(), modelstore.Options{Endpoint: newHub(t, h), Dir: dir}, "test/tiny", "model.safetensors", nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.SHA256 != sha {
				t.Errorf("sha %s, want %s", r.SHA256, sha)
			}
			if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
				t.Errorf("final file differs from the fixture")
			}
			if strings.Join(h.ranges, "|") != tc.ranges {
				t.Errorf("Range headers %q, want %q", h.ranges, tc.ranges)
			}
		})
	}
}
