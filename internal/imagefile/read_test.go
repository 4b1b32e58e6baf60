package imagefile

import (
	"bytes"
	"testing"
)

func TestReadInfotextFormats(t *testing.T) {
	const text = "a cat\nSteps: 20, Seed: 1, Size: 16x8"
	var png, jpg bytes.Buffer
	if err := EncodePNG(&png, testImage(), text); err != nil {
		t.Fatal(err)
	}
	if err := EncodeJPEG(&jpg, testImage(), 95, text); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"png": png.Bytes(), "jpeg": jpg.Bytes()} {
		t.Run(name, func(t *testing.T) {
			got, err := ReadInfotext(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if got != text {
				t.Fatalf("got %q, want %q", got, text)
			}
		})
	}
	if _, err := ReadInfotext(bytes.NewReader([]byte("GIF89a....."))); err == nil {
		t.Fatal("GIF accepted")
	}
}
