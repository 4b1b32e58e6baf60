package prompt

import (
	"reflect"
	"testing"
)

func TestSplitAND(t *testing.T) {
	w := func(pairs ...any) []WeightedPrompt {
		var out []WeightedPrompt
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, WeightedPrompt{pairs[i].(string), pairs[i+1].(float64)})
		}
		return out
	}
	for _, tc := range []struct {
		in   string
		want []WeightedPrompt
	}{
		{"a cat", w("a cat", 1.0)},
		{"a cat AND a dog", w("a cat", 1.0, " a dog", 1.0)},
		{"a cat :1.5 AND a dog: -0.5 ", w("a cat", 1.5, " a dog", -0.5)},
		{"a cat: 2", w("a cat", 2.0)}, // also without AND, as webui does
		{"ANDY and BRANDY AND_x", w("ANDY and BRANDY AND_x", 1.0)},
		{"(a:1.2) AND b", w("(a:1.2)", 1.0, " b", 1.0)},
		{"a:1:2", w("a:1", 2.0)},
		{"a:1.2.3", w("a:1.2.3", 1.0)},
		{"a:.5", w("a", 0.5)},
		{"a:5.", w("a", 5.0)},
		{"a: .", w("a: .", 1.0)},
		{"a:+1", w("a", 1.0)},
		{"AND", w("", 1.0, "", 1.0)},
		{"x AND\n:3", w("x", 1.0, "", 3.0)},
		{"", w("", 1.0)},
	} {
		if got := SplitAND(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitAND(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
