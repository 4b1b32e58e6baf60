package verify

import "sdgo/internal/model"

// applyLoRA merges a LoRA file into a loaded model at one multiplier for
// both the text encoder and the UNet.
func applyLoRA(m *model.Model, path string, multiplier float64) error {
	return m.ApplyLoRA(path, multiplier)
}
