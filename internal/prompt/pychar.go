package prompt

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
)

// Character classes as Python's re module sees str patterns, which webui's
// parsers use: \s is str.isspace() (Unicode White_Space plus U+001C..U+001F),
// \w is str.isalnum() or "_", \d is any Unicode decimal digit.

func pySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1C && r <= 0x1F) }

func pyWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

func pyDigit(r rune) bool { return unicode.IsDigit(r) }

// digitValue returns the value of a Unicode decimal digit: decimal digits
// come in runs of ten consecutive code points starting at a zero.
func digitValue(r rune) int {
	if r >= '0' && r <= '9' {
		return int(r - '0')
	}
	start := r
	for unicode.IsDigit(start - 1) {
		start--
	}
	return int(r-start) % 10
}

// pyFloat is Python's float() for the decimal strings webui's patterns
// accept: optional sign, Unicode digits, at most one dot. Too large values
// give ±Inf (as Python does), not an error.
func pyFloat(s string) (float64, error) {
	var sb strings.Builder
	for _, r := range s {
		if pyDigit(r) {
			sb.WriteByte(byte('0' + digitValue(r)))
		} else {
			sb.WriteRune(r)
		}
	}
	v, err := strconv.ParseFloat(sb.String(), 64)
	if errors.Is(err, strconv.ErrRange) {
		err = nil
	}
	return v, err
}
