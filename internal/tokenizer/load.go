package tokenizer

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// File names of the two vocabulary layouts.
const (
	VocabJSON = "vocab.json"                   // Hugging Face: token -> id
	MergesTXT = "merges.txt"                   // Hugging Face: "#version" line + one "left right" rule per line
	BPEGz     = "bpe_simple_vocab_16e6.txt.gz" // OpenAI CLIP's original file
	bpeTxt    = "bpe_simple_vocab_16e6.txt"    // the same, uncompressed
)

// clipMerges is how many rules of the BPE file CLIP uses:
// 49152 - 256 bytes - 2 special tokens.
const clipMerges = 49152 - 256 - 2

// ErrNotFound is returned (wrapped) when no vocabulary file is where a
// Load or Find call looked.
var ErrNotFound = errors.New("tokenizer: CLIP vocabulary not found")

// Load reads the vocabulary in dir: vocab.json + merges.txt if both are
// there, else bpe_simple_vocab_16e6.txt.gz (or .txt).
func Load(dir string) (*Tokenizer, error) {
	vocab, merges := filepath.Join(dir, VocabJSON), filepath.Join(dir, MergesTXT)
	if isFile(vocab) && isFile(merges) {
		return LoadFiles(vocab, merges)
	}
	for _, name := range []string{BPEGz, bpeTxt} {
		if p := filepath.Join(dir, name); isFile(p) {
			return LoadBPE(p)
		}
	}
	return nil, fmt.Errorf("tokenizer: load %s: no %s + %s or %s: %w", dir, VocabJSON, MergesTXT, BPEGz, ErrNotFound)
}

// LoadFiles reads a Hugging Face vocabulary: vocab.json (token -> id) and
// merges.txt (rules in rank order).
func LoadFiles(vocabPath, mergesPath string) (*Tokenizer, error) {
	vf, err := os.Open(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load: %w", err)
	}
	defer vf.Close()
	mf, err := os.Open(mergesPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load: %w", err)
	}
	defer mf.Close()
	t, err := Read(vf, mf)
	if err != nil {
		return nil, fmt.Errorf("%w (files %s, %s)", err, vocabPath, mergesPath)
	}
	return t, nil
}

// Read builds a tokenizer from a vocab.json and a merges.txt stream.
func Read(vocabJSON, mergesTXT io.Reader) (*Tokenizer, error) {
	var vocab map[string]int
	if err := json.NewDecoder(bufio.NewReader(vocabJSON)).Decode(&vocab); err != nil {
		return nil, fmt.Errorf("tokenizer: read %s: %w", VocabJSON, err)
	}
	var merges [][2]string
	sc := bufio.NewScanner(mergesTXT)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if (line == 1 && strings.HasPrefix(text, "#version")) || strings.TrimSpace(text) == "" {
			continue
		}
		m, err := parseMerge(text)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: read %s: line %d: %w", MergesTXT, line, err)
		}
		merges = append(merges, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenizer: read %s: %w", MergesTXT, err)
	}
	return newTokenizer(vocab, merges)
}

// LoadBPE reads OpenAI's bpe_simple_vocab_16e6.txt.gz (gzip-compressed or
// not, told by its content).
func LoadBPE(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load: %w", err)
	}
	defer f.Close()
	t, err := ReadBPE(f)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return t, nil
}

// ReadBPE builds a tokenizer from the BPE file the way CLIP does: the first
// line is a header, the next 48894 lines are the merge rules; the
// vocabulary is the 256 byte symbols, the same with "</w>", one token per
// rule (the two parts joined) in rank order, then <|startoftext|> and
// <|endoftext|>.
func ReadBPE(r io.Reader) (*Tokenizer, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: read %s: %w", BPEGz, err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	merges := make([][2]string, 0, clipMerges)
	for line := 1; len(merges) < clipMerges && sc.Scan(); line++ {
		if line == 1 {
			continue // header
		}
		m, err := parseMerge(strings.TrimRight(sc.Text(), "\r"))
		if err != nil {
			return nil, fmt.Errorf("tokenizer: read %s: line %d: %w", BPEGz, line, err)
		}
		merges = append(merges, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenizer: read %s: %w", BPEGz, err)
	}
	if len(merges) < clipMerges {
		return nil, fmt.Errorf("tokenizer: read %s: %d merge rules, want %d (truncated file?)", BPEGz, len(merges), clipMerges)
	}
	vocab := make(map[string]int, 2*256+len(merges)+2)
	add := func(tok string) {
		if _, dup := vocab[tok]; !dup {
			vocab[tok] = len(vocab)
		}
	}
	for _, b := range byteOrder {
		add(string(byteRunes[b]))
	}
	for _, b := range byteOrder {
		add(string(byteRunes[b]) + wordEnd)
	}
	for _, m := range merges {
		add(m[0] + m[1])
	}
	add(startText)
	add(endText)
	if len(vocab) != 2*256+len(merges)+2 {
		return nil, fmt.Errorf("tokenizer: read %s: merge rules repeat a token", BPEGz)
	}
	return newTokenizer(vocab, merges)
}

func parseMerge(line string) ([2]string, error) {
	parts := strings.Fields(line)
	if len(parts) != 2 {
		return [2]string{}, fmt.Errorf("merge rule %q: want two symbols", line)
	}
	return [2]string{parts[0], parts[1]}, nil
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
