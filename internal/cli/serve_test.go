package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sdgo/internal/cli"
	"sdgo/internal/fixture"
)

// TestServeStartsAndStops runs `sdgo serve` on a free loopback port with
// the tiny model given by path, asks it for its models, and stops it by
// cancelling the context.
func TestServeStartsAndStops(t *testing.T) {
	dir, err := fixture.FindDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	env := &cli.Env{Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: pw, Stderr: &stderr}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--models-dir", t.TempDir(), "--outputs", t.TempDir(),
		"--model", filepath.Join(dir, "tiny-sd1", "model.safetensors"), "--clip-vocab", filepath.Join(dir, "..", "clip"), "--backend", "go"}
	done := make(chan int)
	go func() {
		done <- cli.Run(ctx, args, env)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no banner: %v; stderr: %s", err, stderr.String())
	}
	_, rest, _ := strings.Cut(line, "http://")
	base := "http://" + strings.Fields(rest)[0]
	resp, err := http.Get(base + "sdapi/v1/sd-models")
	if err != nil {
		t.Fatal(err)
	}
	var models []map[string]any
	json.NewDecoder(resp.Body).Decode(&models)
	resp.Body.Close()
	if len(models) != 1 || !strings.HasPrefix(models[0]["title"].(string), "model.safetensors") {
		t.Errorf("sd-models %v", models)
	}
	go io.Copy(io.Discard, pr)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--listen", "nonsense"},
		{"serve", "--api-auth", "nopassword"},
		{"serve", "--max-steps", "0"},
		{"serve", "stray"},
	} {
		var stderr strings.Builder
		env := &cli.Env{Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr}
		if code := cli.Run(context.Background(), args, env); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}
