package prompt

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestParseAttentionFixtures(t *testing.T) {
	for _, c := range casesOf(t, "parse_prompt_attention") {
		t.Run(c.ID, func(t *testing.T) {
			var in struct{ Prompt string }
			var want struct{ Parts [][2]any }
			decode(t, c.Inputs, &in)
			decode(t, c.Expected, &want)
			got := ParseAttention(in.Prompt)
			if len(got) != len(want.Parts) {
				t.Fatalf("ParseAttention(%q) = %v, want %v", in.Prompt, got, want.Parts)
			}
			for i, p := range want.Parts {
				text, w := p[0].(string), p[1].(float64)
				if got[i].Text != text || math.Abs(got[i].Weight-w) > 1e-12 {
					t.Errorf("ParseAttention(%q)[%d] = %q %v, want %q %v", in.Prompt, i, got[i].Text, got[i].Weight, text, w)
				}
			}
		})
	}
}

func TestParseAttention(t *testing.T) {
	s := func(spans ...any) []Span {
		var out []Span
		for i := 0; i < len(spans); i += 2 {
			out = append(out, Span{spans[i].(string), spans[i+1].(float64)})
		}
		return out
	}
	for _, tc := range []struct {
		in   string
		want []Span
	}{
		{"(a: 1.5 )", s("a", 1.5)},
		{"(a:\t-0.5)", s("a", -0.5)},
		{"a:1.2)", s("a:1.2)", 1.0)},      // a weight with no open bracket is text
		{"(a:1.2.3)", s("a:1.2.3)", 1.1)}, // webui raises here; we keep the text
		{"(a:١.٥)", s("a", 1.5)},          // Python's \d and float() take Unicode digits
		{"\\x", s("x", 1.0)},              // lone backslash dropped
		{"a BREAK BREAK b", s("a", 1.0, "BREAK", -1.0, "", 1.0, "BREAK", -1.0, "b", 1.0)},
		{"a\u00a0BREAK\nb", s("a", 1.0, "BREAK", -1.0, "b", 1.0)},
		{"éBREAK b", s("éBREAK b", 1.0)}, // é is a word character
		{"_BREAK b", s("_BREAK b", 1.0)},
		{"[a](b)", s("a", 1/1.1, "b", 1.1)},
		{"((a)", s("a", 1.2100000000000002)},
		{"[(a:2)]", s("a", 2*(1/1.1))},
		{"(a[b)c]", s("a", 1.1, "b", 1.1*(1/1.1)*1, "c", 1/1.1)},
	} {
		got := ParseAttention(tc.in)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ParseAttention(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestParseAttentionOrder checks the multiplication order on a case where
// float64 rounding shows it: weights are products in closing order.
func TestParseAttentionOrder(t *testing.T) {
	got := ParseAttention("(((a:1.3)))")
	w, m := 1.3, 1.1 // variables: Go constant arithmetic would be exact
	want := w * m * m
	if got[0].Weight != want {
		t.Errorf("weight %v, want %v", got[0].Weight, want)
	}
}

func TestParseAttentionLarge(t *testing.T) {
	deep := strings.Repeat("(", 200000) + "a" + strings.Repeat(")", 200000)
	if got := ParseAttention(deep); len(got) != 1 || math.IsInf(got[0].Weight, 0) == false {
		t.Errorf("deep nesting: %v", got)
	}
	huge := strings.Repeat("a (b:1.2) [c] d, BREAK ", 50000)
	if got := ParseAttention(huge); len(got) < 100000 {
		t.Errorf("huge prompt: %d spans", len(got))
	}
}
