package pipeline_test

import (
	"strings"
	"testing"

	"sdgo/internal/pipeline"
)

// TestConditionerTokensMatchesEncode checks that Tokens gives the context
// length Encode produces, for prompts of one, two and three chunks, with
// attention syntax, an empty prompt and emphasis off.
func TestConditionerTokensMatchesEncode(t *testing.T) {
	pool, tok := tinyPool(t, 1)
	m := <-pool
	defer func() { pool <- m }()
	long := strings.Repeat("a castle on a hill, ", 20)
	for _, tc := range []struct {
		text, emphasis string
		want           int
	}{
		{"a red house", "", 77},
		{"", "", 77},
		{"(a red:1.3) [house]", "", 77},
		{long, "", 154},
		{long + long, "", 308},
		{long, pipeline.EmphasisNone, 154},
	} {
		cd := pipeline.Conditioner{Model: m, Tok: tok, Emphasis: tc.emphasis}
		got, err := cd.Tokens(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cd.Encode(tc.text, false, pipeline.Size{W: 64, H: 64})
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want || c.Tokens != tc.want {
			t.Errorf("%.30q: Tokens %d, Encode %d, want %d", tc.text, got, c.Tokens, tc.want)
		}
	}
	if _, err := (&pipeline.Conditioner{Model: m, Tok: tok, Emphasis: "loud"}).Tokens("x"); err == nil {
		t.Error("an unknown emphasis mode gave no error")
	}
}
