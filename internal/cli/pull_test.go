package cli_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sdgo/internal/cli"
	"sdgo/internal/fixture"
)

// runCLI runs sdgo with args and the given environment.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb strings.Builder
	e := &cli.Env{Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}
	code = cli.Run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

// TestPullAndModels pulls the tiny model from a local fake hub, lists it,
// and deletes it.
func TestPullAndModels(t *testing.T) {
	fdir, err := fixture.FindDir()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(fdir, "tiny-sd1", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/test/tiny/resolve/main/model.safetensors":
			w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(sum[:])+`"`)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		case "/api/models/test/tiny":
			w.Write([]byte(`{"siblings":[{"rfilename":"model.safetensors"},{"rfilename":"README.md"}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	models := t.TempDir()
	env := map[string]string{"SDGO_HF_ENDPOINT": srv.URL, "SDGO_MODELS_DIR": models}

	code, out, errs := runCLI(t, env, "pull", "test/tiny/model.safetensors", "--type", "lora")
	want := filepath.Join(models, "Lora", "model.safetensors")
	if code != 0 || strings.TrimSpace(out) != want {
		t.Fatalf("pull: code %d, stdout %q, stderr %q; want %s", code, out, errs, want)
	}
	if !strings.Contains(errs, "verified") || !strings.Contains(errs, "13 MB") {
		t.Errorf("pull stderr lacks the progress bar or the check: %q", errs)
	}
	if code, _, errs := runCLI(t, env, "pull", "--type", "lora", "test/tiny/model.safetensors"); code != 1 || !strings.Contains(errs, "--force") {
		t.Errorf("second pull: code %d, stderr %q; want a refusal naming --force", code, errs)
	}
	if code, _, _ := runCLI(t, env, "pull", "test/tiny"); code != 0 {
		t.Errorf("pull by repository: code %d", code)
	}
	if code, _, errs := runCLI(t, env, "pull", "test/tiny/missing.safetensors"); code != 1 || !strings.Contains(errs, srv.URL+"/test/tiny/resolve/main/missing.safetensors") {
		t.Errorf("404: code %d, stderr %q", code, errs)
	}
	if code, _, _ := runCLI(t, env, "pull", "test/tiny/../x.safetensors"); code != 2 {
		t.Errorf("traversal: code %d, want 2", code)
	}
	if code, _, _ := runCLI(t, env, "pull", "--type", "esrgan", "test/tiny/model.safetensors"); code != 2 {
		t.Errorf("bad --type: code %d, want 2", code)
	}

	code, out, _ = runCLI(t, env, "models", "list", "--json")
	var list []struct{ Kind, Name string }
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) != 2 {
		t.Fatalf("models list --json: code %d, %v, %q", code, err, out)
	}
	if list[0].Kind != "checkpoint" || list[1].Kind != "lora" || list[0].Name != "model.safetensors" {
		t.Errorf("models list: %+v", list)
	}
	if code, out, _ := runCLI(t, env, "models", "list"); code != 0 || !strings.Contains(out, "lora") || !strings.Contains(out, "12.6 MiB") {
		t.Errorf("models list: code %d, %q", code, out)
	}
	if code, _, errs := runCLI(t, env, "models", "delete", "model.safetensors"); code != 1 || !strings.Contains(errs, "ambiguous") {
		t.Errorf("ambiguous delete: code %d, %q", code, errs)
	}
	if code, out, errs := runCLI(t, env, "models", "delete", "Lora/model.safetensors"); code != 0 || !strings.Contains(out, "deleted lora") {
		t.Errorf("delete: code %d, %q %q", code, out, errs)
	}
	if _, err := os.Stat(want); !os.IsNotExist(err) {
		t.Errorf("%s still exists", want)
	}
	if code, _, _ := runCLI(t, env, "models", "delete", "--models-dir", models, "../../etc/passwd"); code != 1 {
		t.Errorf("traversal delete: code %d, want 1", code)
	}
}
