package verify

import (
	"errors"

	"sdgo/internal/model"
)

// applyLoRA merges a LoRA file into a loaded model.
func applyLoRA(m *model.Model, path string, multiplier float64) error {
	return errors.New("LoRA merging is not implemented yet")
}
