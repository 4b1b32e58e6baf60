package tokenizer

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizeHF is the normalizer of Hugging Face's fast CLIP tokenizer: NFC,
// every whitespace run to one space, then a per-character lowercase (Rust's
// char::to_lowercase: simple mappings plus U+0130 -> "i\u0307").
func normalizeHF(s string) string {
	s = norm.NFC.String(s)
	var sb strings.Builder
	sb.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !inSpace {
				sb.WriteByte(' ')
			}
			inSpace = true
			continue
		}
		inSpace = false
		writeLower(&sb, r)
	}
	return sb.String()
}

// writeLower writes the full lowercase mapping of r. U+0130 (capital I with
// dot above) is the only character whose lowercase is two characters.
func writeLower(sb *strings.Builder, r rune) {
	if r == '\u0130' {
		sb.WriteString("i\u0307")
		return
	}
	sb.WriteRune(unicode.ToLower(r))
}

// cleanOpenAI is what OpenAI's simple_tokenizer does before its word
// pattern when ftfy is not installed: html.unescape twice, strip, collapse
// whitespace runs to one space, strip, Python's str.lower().
func cleanOpenAI(s string) string {
	s = html.UnescapeString(html.UnescapeString(s))
	s = strings.TrimFunc(s, pySpace)
	var sb strings.Builder
	sb.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if pySpace(r) {
			if !inSpace {
				sb.WriteByte(' ')
			}
			inSpace = true
			continue
		}
		inSpace = false
		sb.WriteRune(r)
	}
	return pyLower(strings.TrimFunc(sb.String(), pySpace))
}

// pySpace reports whether Python's str.isspace() is true for r: Unicode
// White_Space plus the information separators U+001C..U+001F.
func pySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1C && r <= 0x1F) }

// pyLower is Python's str.lower(): full lowercase mappings, with capital
// sigma becoming final sigma at the end of a word.
func pyLower(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for i, r := range s {
		if r == 'Σ' {
			if finalSigma(s[:i], s[i+len("Σ"):]) {
				sb.WriteRune('ς')
			} else {
				sb.WriteRune('σ')
			}
			continue
		}
		writeLower(&sb, r)
	}
	return sb.String()
}

// finalSigma is Unicode's Final_Sigma condition: a cased letter before
// (skipping case-ignorable characters) and none after.
func finalSigma(before, after string) bool {
	casedBefore := false
	for before != "" {
		r, n := utf8.DecodeLastRuneInString(before)
		before = before[:len(before)-n]
		if !caseIgnorable(r) {
			casedBefore = cased(r)
			break
		}
	}
	if !casedBefore {
		return false
	}
	for _, r := range after {
		if !caseIgnorable(r) {
			return !cased(r)
		}
	}
	return true
}

func cased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// nextWord returns the first word of s under CLIP's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+
//
// (alternatives tried in that order at each position, as a regex engine
// does), with the two special-token strings in front when inlineSpecial.
// A whitespace run is returned with skip set: it is not a word.
func nextWord(s string, inlineSpecial bool) (word, rest string, skip bool) {
	r, n := utf8.DecodeRuneInString(s)
	switch {
	case unicode.IsSpace(r):
		end := n
		for end < len(s) {
			r2, n2 := utf8.DecodeRuneInString(s[end:])
			if !unicode.IsSpace(r2) {
				break
			}
			end += n2
		}
		return "", s[end:], true
	case inlineSpecial && strings.HasPrefix(s, startText):
		return s[:len(startText)], s[len(startText):], false
	case inlineSpecial && strings.HasPrefix(s, endText):
		return s[:len(endText)], s[len(endText):], false
	case r == '\'':
		for _, c := range [...]string{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"} {
			if strings.HasPrefix(s, c) {
				return s[:len(c)], s[len(c):], false
			}
		}
	case unicode.IsLetter(r):
		end := n
		for end < len(s) {
			r2, n2 := utf8.DecodeRuneInString(s[end:])
			if !unicode.IsLetter(r2) {
				break
			}
			end += n2
		}
		return s[:end], s[end:], false
	case unicode.IsNumber(r):
		return s[:n], s[n:], false
	}
	// [^\s\p{L}\p{N}]+ (also a quote that starts no contraction).
	end := n
	for end < len(s) {
		r2, n2 := utf8.DecodeRuneInString(s[end:])
		if unicode.IsSpace(r2) || unicode.IsLetter(r2) || unicode.IsNumber(r2) {
			break
		}
		end += n2
	}
	return s[:end], s[end:], false
}
