package prompt

import (
	"strings"
	"unicode/utf8"
)

// Span is a piece of prompt text and its attention weight. A BREAK keyword
// is the span {"BREAK", -1}.
type Span struct {
	Text   string
	Weight float64
}

// IsBreak reports whether s is a BREAK marker (exactly weight -1, as webui
// checks: "(a BREAK b:1.2)" yields {"BREAK", -1.2}, which is plain text).
func (s Span) IsBreak() bool { return s.Text == "BREAK" && s.Weight == -1 }

// The bracket multipliers, as float64 values computed at run time like
// Python does (an untyped Go constant 1/1.1 would be rounded differently).
var (
	roundMult  = 1.1
	squareMult = 1 / roundMult
)

// ParseAttention parses webui's attention syntax, exactly as webui's
// parse_prompt_attention does:
//
//	(text)      weight of text times 1.1      [text]  divided by 1.1
//	(text:1.3)  times 1.3 (spaces allowed around the number)
//	\( \) \[ \] \\  literal characters; a lone \ is dropped
//	BREAK       (a whole word, any surrounding spaces) becomes {"BREAK", -1}
//
// Unclosed brackets apply to the end of the prompt; stray closing brackets
// and colons are text. Adjacent spans of equal weight are merged, and an
// empty prompt gives [{"", 1}]. Weights are the same float64 products webui
// computes (the same multiplications in the same order).
//
// Where webui would raise an exception, a "(x:1.2.3)" weight that is not a
// number, this keeps ":1.2.3)" as text.
//
// The cost is the prompt length times the bracket nesting depth.
func ParseAttention(text string) []Span {
	var res []Span
	var round, square []int
	multiply := func(start int, m float64) {
		for p := start; p < len(res); p++ {
			res[p].Weight *= m
		}
	}
	addText := func(s string) {
		for i, part := range splitBreak(s) {
			if i > 0 {
				res = append(res, Span{"BREAK", -1})
			}
			res = append(res, Span{part, 1})
		}
	}
	pop := func(stack *[]int) int {
		top := (*stack)[len(*stack)-1]
		*stack = (*stack)[:len(*stack)-1]
		return top
	}

	for i := 0; i < len(text); {
		switch c := text[i]; c {
		case '\\':
			if i+1 < len(text) && strings.IndexByte(`()[]\`, text[i+1]) >= 0 {
				res = append(res, Span{text[i+1 : i+2], 1})
				i += 2
			} else {
				res = append(res, Span{"", 1}) // a lone backslash disappears
				i++
			}
		case '(':
			round = append(round, len(res))
			i++
		case '[':
			square = append(square, len(res))
			i++
		case ':':
			num, end, ok := weightToken(text, i)
			if !ok {
				addText(":")
				i++
				break
			}
			w, err := pyFloat(num)
			if err == nil && len(round) > 0 {
				multiply(pop(&round), w)
			} else {
				addText(text[i:end])
			}
			i = end
		case ')':
			if len(round) > 0 {
				multiply(pop(&round), roundMult)
			} else {
				addText(")")
			}
			i++
		case ']':
			if len(square) > 0 {
				multiply(pop(&square), squareMult)
			} else {
				addText("]")
			}
			i++
		default:
			end := i + 1
			for end < len(text) && strings.IndexByte(`\()[]:`, text[end]) < 0 {
				end++
			}
			addText(text[i:end])
			i = end
		}
	}
	for _, pos := range round {
		multiply(pos, roundMult)
	}
	for _, pos := range square {
		multiply(pos, squareMult)
	}
	if len(res) == 0 {
		return []Span{{"", 1}}
	}
	return mergeSpans(res)
}

// mergeSpans joins runs of neighbours with identical weights.
func mergeSpans(res []Span) []Span {
	out := res[:1]
	for _, s := range res[1:] {
		if last := &out[len(out)-1]; last.Weight == s.Weight {
			last.Text += s.Text
		} else {
			out = append(out, s)
		}
	}
	return out
}

// weightToken matches `:\s*([+-]?[.\d]+)\s*\)` at text[i] (a ':') and
// returns the number, the end of the match and whether it matched.
func weightToken(text string, i int) (num string, end int, ok bool) {
	j := skipSpace(text, i+1)
	start := j
	if j < len(text) && (text[j] == '+' || text[j] == '-') {
		j++
	}
	digits := j
	for j < len(text) {
		r, n := utf8.DecodeRuneInString(text[j:])
		if r != '.' && !pyDigit(r) {
			break
		}
		j += n
	}
	if j == digits {
		return "", 0, false
	}
	num = text[start:j]
	j = skipSpace(text, j)
	if j >= len(text) || text[j] != ')' {
		return "", 0, false
	}
	return num, j + 1, true
}

func skipSpace(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !pySpace(r) {
			break
		}
		i += n
	}
	return i
}

// splitBreak splits s around each match of `\s*\bBREAK\b\s*` (re.split).
func splitBreak(s string) []string {
	if !strings.Contains(s, "BREAK") {
		return []string{s}
	}
	var parts []string
	last := 0 // end of the previous match
	for from := 0; ; {
		k := strings.Index(s[from:], "BREAK")
		if k < 0 {
			break
		}
		k += from
		end := k + len("BREAK")
		if !wordBoundaryBefore(s, k) || !wordBoundaryAfter(s, end) {
			from = k + 1
			continue
		}
		start := k
		for start > last {
			r, n := utf8.DecodeLastRuneInString(s[:start])
			if !pySpace(r) {
				break
			}
			start -= n
		}
		end = skipSpace(s, end)
		parts = append(parts, s[last:start])
		last, from = end, end
	}
	return append(parts, s[last:])
}

func wordBoundaryBefore(s string, i int) bool {
	if i == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return !pyWord(r)
}

func wordBoundaryAfter(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return !pyWord(r)
}
