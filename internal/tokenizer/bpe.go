package tokenizer

import "sync"

// bpe appends the ids of one word (a pre-tokenized piece of normalized
// text). The word's bytes become byte-level symbols, the last one with
// "</w>"; then the applicable merge with the lowest rank is applied, the
// leftmost first on ties, until none applies. A priority queue keeps this
// O(n log n) in the word length (CLIP's reference loop is quadratic).
func (t *Tokenizer) bpe(word string, out []int) []int {
	if ids, ok := t.cache.get(word); ok {
		return appendIDs(out, ids)
	}
	ids := t.bpeWord(word)
	t.cache.put(word, ids)
	return appendIDs(out, ids)
}

func appendIDs(out []int, ids []int32) []int {
	for _, id := range ids {
		out = append(out, int(id))
	}
	return out
}

// symbol is one node of the doubly linked list of a word's symbols.
type symbol struct {
	id         int32
	prev, next int32 // -1 at the ends
	dead       bool
}

// candidate is a possible merge of the symbol at pos with its successor,
// valid while those two symbols still have ids left and right.
type candidate struct {
	rank, pos   int32
	left, right int32
	result      int32
}

func (a candidate) less(b candidate) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

func (t *Tokenizer) bpeWord(word string) []int32 {
	n := len(word)
	if n == 0 {
		return nil
	}
	syms := make([]symbol, n)
	for i := 0; i < n; i++ {
		id := t.byteID[word[i]]
		if i == n-1 {
			id = t.byteEnd[word[i]]
		}
		syms[i] = symbol{id: id, prev: int32(i - 1), next: int32(i + 1)}
	}
	syms[n-1].next = -1

	var q candidateHeap
	push := func(pos int32) {
		next := syms[pos].next
		if next < 0 {
			return
		}
		l, r := syms[pos].id, syms[next].id
		if l < 0 || r < 0 {
			return
		}
		if m, ok := t.merges[pairKey(l, r)]; ok {
			q.push(candidate{rank: m.rank, pos: pos, left: l, right: r, result: m.id})
		}
	}
	for i := 0; i < n-1; i++ {
		push(int32(i))
	}
	for len(q) > 0 {
		c := q.pop()
		s := &syms[c.pos]
		if s.dead || s.id != c.left || s.next < 0 || syms[s.next].id != c.right {
			continue // stale: one of the two symbols has changed
		}
		gone := s.next
		s.id = c.result
		s.next = syms[gone].next
		syms[gone].dead = true
		if s.next >= 0 {
			syms[s.next].prev = c.pos
		}
		if s.prev >= 0 {
			push(s.prev)
		}
		push(c.pos)
	}

	ids := make([]int32, 0, 4)
	for i := int32(0); i >= 0; i = syms[i].next {
		id := syms[i].id
		if id < 0 {
			id = int32(t.eos) // CLIP's unknown token is <|endoftext|>
		}
		ids = append(ids, id)
	}
	return ids
}

// candidateHeap is a binary min-heap ordered by (rank, pos).
type candidateHeap []candidate

func (h *candidateHeap) push(c candidate) {
	*h = append(*h, c)
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !a[i].less(a[p]) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *candidateHeap) pop() candidate {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(a) {
			break
		}
		m := l
		if r := l + 1; r < len(a) && a[r].less(a[l]) {
			m = r
		}
		if !a[m].less(a[i]) {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

// maxCachedWords bounds the word cache; when it is full it starts over.
const maxCachedWords = 1 << 16

// wordCache maps words to their BPE ids. Words longer than maxCachedLen
// bytes are not cached.
type wordCache struct {
	mu sync.RWMutex
	m  map[string][]int32
}

const maxCachedLen = 64

func newWordCache() *wordCache { return &wordCache{m: make(map[string][]int32)} }

func (c *wordCache) get(word string) ([]int32, bool) {
	c.mu.RLock()
	ids, ok := c.m[word]
	c.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(word string, ids []int32) {
	if len(word) > maxCachedLen {
		return
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedWords {
		c.m = make(map[string][]int32)
	}
	c.m[word] = ids
	c.mu.Unlock()
}
