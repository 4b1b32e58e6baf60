package model

import (
	"slices"
	"testing"

	"sdgo/internal/testutil"
)

// TestTextCache: the same text-encoder call is answered from the cache
// with the values the encoder gave, unaffected by a caller changing what
// it got; other ids, input vectors or clip skip are other entries; a LoRA
// clears it (TestLoRAComposition checks the values after LoRA changes).
func TestTextCache(t *testing.T) {
	m := testutil.Fixtures(t)
	mdl := loadTiny(t, m)
	ids := textIDs(t, m, "lora/sd1/m0_7/text_000")
	first, err := mdl.EncodeText(0, [][]int{ids}, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(first.Hidden)
	first.Hidden[0] += 100 // a caller changing its copy
	if n := len(mdl.texts.entries); n != 1 {
		t.Fatalf("%d cache entries after one call, want 1", n)
	}
	again, err := mdl.EncodeText(0, [][]int{ids}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Hidden, want) {
		t.Error("the cached result differs from the encoder's")
	}
	if n := len(mdl.texts.entries); n != 1 {
		t.Errorf("%d cache entries after the same call twice, want 1", n)
	}
	other := slices.Clone(ids)
	other[1]++
	if _, err := mdl.EncodeText(0, [][]int{other}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := mdl.EncodeText(0, [][]int{ids}, 2); err != nil {
		t.Fatal(err)
	}
	vec := []InputVectors{{Row: 0, Pos: 1, Data: make([]float32, mdl.Text[0].Config.Width)}}
	if _, err := mdl.EncodeTextVectors(0, [][]int{ids}, vec, 1); err != nil {
		t.Fatal(err)
	}
	vec[0].Data[0] = 1
	if _, err := mdl.EncodeTextVectors(0, [][]int{ids}, vec, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(mdl.texts.entries); n != textCacheSize {
		t.Errorf("%d cache entries after five different calls, want %d (the newest)", n, textCacheSize)
	}
	if err := mdl.ApplyLoRA(m.Path(m.Lora.File), 0.5); err != nil {
		t.Fatal(err)
	}
	if n := len(mdl.texts.entries); n != 0 {
		t.Errorf("%d cache entries after a LoRA, want 0", n)
	}
}
