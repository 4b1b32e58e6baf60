package model

import (
	"testing"

	"path/filepath"
	"sdgo/internal/fixture"
)

// TestProbeVOnSD1Weights runs webui's v-prediction test on the tiny SD1
// UNet. That model predicts eps, and its output minus the input must not
// average below -1 (the v verdict); the test also shows the probe runs at
// the model's own context width.
func TestProbeVOnSD1Weights(t *testing.T) {
	dir, err := fixture.FindDir()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(filepath.Join(dir, "tiny-sd1", "model.safetensors"), Options{Backend: "go"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v, err := m.probeV()
	if err != nil {
		t.Fatal(err)
	}
	if v {
		t.Fatal("the eps tiny model was judged v-prediction")
	}
}
