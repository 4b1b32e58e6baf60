package tokenizer

// GPT-2's byte-to-unicode mapping: every byte becomes one printable rune so
// that BPE works on text without whitespace or control characters. Bytes that
// are already printable Latin-1 (33..126, 161..172, 174..255) map to
// themselves; the other 68 map, in byte order, to U+0100, U+0101, ...

// byteRunes[b] is the rune byte b maps to.
var byteRunes [256]rune

// byteOrder lists the bytes in the order CLIP numbers them: the printable
// ones first, then the remapped ones. Token id i (i < 256) is byteRunes of
// byteOrder[i]; id 256+i is the same symbol followed by "</w>".
var byteOrder [256]byte

// runeBytes maps a mapped rune back to its byte.
var runeBytes map[rune]byte

func init() {
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	n := 0
	for b := 0; b < 256; b++ {
		if printable(b) {
			byteRunes[b] = rune(b)
			byteOrder[n] = byte(b)
			n++
		}
	}
	extra := 0
	for b := 0; b < 256; b++ {
		if !printable(b) {
			byteRunes[b] = rune(256 + extra)
			byteOrder[n] = byte(b)
			extra++
			n++
		}
	}
	runeBytes = make(map[rune]byte, 256)
	for b, r := range byteRunes {
		runeBytes[r] = byte(b)
	}
}
