package prompt

import (
	"strings"
	"unicode/utf8"
)

// WeightedPrompt is one AND part of a prompt and its weight.
type WeightedPrompt struct {
	Text   string
	Weight float64
}

// SplitAND splits a prompt on the word AND (uppercase, whole word) for
// composable diffusion, as webui's get_multicond_prompt_list does. Each part
// may end in ":weight" (a decimal number, spaces allowed around the colon);
// the weight and the whitespace around it are cut off the text, the default
// weight is 1. Like webui this also applies to a prompt without AND: "a
// cat: 2" is the text "a cat" with weight 2. Leading whitespace is kept.
// Deduplicating equal parts is left to the caller.
func SplitAND(prompt string) []WeightedPrompt {
	var out []WeightedPrompt
	for _, part := range splitAND(prompt) {
		out = append(out, splitWeight(part))
	}
	return out
}

// splitAND is re.split(r"\bAND\b", prompt).
func splitAND(s string) []string {
	var parts []string
	last := 0
	for from := 0; ; {
		k := strings.Index(s[from:], "AND")
		if k < 0 {
			break
		}
		k += from
		end := k + len("AND")
		if wordBoundaryBefore(s, k) && wordBoundaryAfter(s, end) {
			parts = append(parts, s[last:k])
			last = end
			from = end
		} else {
			from = k + 1
		}
	}
	return append(parts, s[last:])
}

// splitWeight is webui's re_weight,
// ^((?:\s|.)*?)(?:\s*:\s*([-+]?(?:\d+\.?|\d*\.\d+)))?\s*$, worked out
// directly: the weight, if any, follows the last colon; the text is the
// shortest prefix the rest can follow.
func splitWeight(s string) WeightedPrompt {
	trimmed := strings.TrimRightFunc(s, pySpace)
	if c := strings.LastIndexByte(trimmed, ':'); c >= 0 {
		num := strings.TrimLeftFunc(trimmed[c+1:], pySpace)
		if isWeightNumber(num) {
			if w, err := pyFloat(num); err == nil {
				return WeightedPrompt{strings.TrimRightFunc(s[:c], pySpace), w}
			}
		}
	}
	return WeightedPrompt{trimmed, 1}
}

// isWeightNumber matches [-+]?(\d+\.?|\d*\.\d+) in full: Unicode digits
// with at most one dot, at least one digit.
func isWeightNumber(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	digits, dots := 0, 0
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == '.':
			dots++
		case pyDigit(r):
			digits++
		default:
			return false
		}
		s = s[n:]
	}
	return digits > 0 && dots <= 1
}
