package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits bound what a pickle may make the machine build, so hostile input
// fails with an error instead of exhausting memory. The zero value of a
// field means its default.
type Limits struct {
	MaxStack   int // values on the stack (default 1<<20)
	MaxMarks   int // nested MARKs (default 1<<16)
	MaxMemo    int // memo entries (default 1<<22)
	MaxObjects int // values created in total (default 1<<22)
	MaxString  int // bytes in one str or bytes value (default 1<<30)
}

func (l Limits) withDefaults() Limits {
	if l.MaxStack <= 0 {
		l.MaxStack = 1 << 20
	}
	if l.MaxMarks <= 0 {
		l.MaxMarks = 1 << 16
	}
	if l.MaxMemo <= 0 {
		l.MaxMemo = 1 << 22
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = 1 << 22
	}
	if l.MaxString <= 0 {
		l.MaxString = 1 << 30
	}
	return l
}

// maxNumberText bounds decimal integers and long byte strings (text INT/LONG,
// LONG1/LONG4), which would otherwise cost super-linear time to convert.
const maxNumberText = 1 << 12

// ErrRefused is wrapped by RefusedError.
var ErrRefused = errors.New("refused global")

// RefusedError reports a global that the reader will not build.
type RefusedError struct{ Global string }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused global %q: this reader only builds tensors and plain containers (the file may be malicious; convert trusted files to .safetensors)", e.Global)
}

// Unwrap lets errors.Is(err, ErrRefused) match.
func (e *RefusedError) Unwrap() error { return ErrRefused }

// PersistentLoader resolves a persistent id (torch uses them for storages).
type PersistentLoader func(pid any) (any, error)

// mark is the stack sentinel pushed by MARK.
type markT struct{}

var markV = &markT{}

type machine struct {
	data    []byte
	pos     int
	stack   []any
	marks   []int
	memo    map[uint64]any
	objects int
	lim     Limits
	persist PersistentLoader
}

// Unpickle runs the pickle program in data and returns the value it builds.
// Only the globals this package knows are allowed; persistent ids are passed
// to load (nil refuses them).
func Unpickle(data []byte, load PersistentLoader, lim Limits) (v any, err error) {
	m := &machine{data: data, memo: map[uint64]any{}, lim: lim.withDefaults(), persist: load}
	v, err = m.run()
	if err != nil {
		return nil, fmt.Errorf("pickle: %w", err)
	}
	return v, nil
}

func (m *machine) errorf(op byte, format string, args ...any) error {
	return fmt.Errorf("opcode %q at byte %d: %s", op, m.pos-1, fmt.Sprintf(format, args...))
}

func (m *machine) read(n int) ([]byte, error) {
	if n < 0 || n > len(m.data)-m.pos {
		return nil, fmt.Errorf("truncated pickle: need %d bytes at byte %d, have %d", n, m.pos, len(m.data)-m.pos)
	}
	b := m.data[m.pos : m.pos+n]
	m.pos += n
	return b, nil
}

func (m *machine) readLine() (string, error) {
	i := bytes.IndexByte(m.data[m.pos:], '\n')
	if i < 0 {
		return "", fmt.Errorf("truncated pickle: no newline after byte %d", m.pos)
	}
	s := string(m.data[m.pos : m.pos+i])
	m.pos += i + 1
	return s, nil
}

func (m *machine) readUint(n int) (uint64, error) {
	b, err := m.read(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

func (m *machine) push(v any) error {
	if len(m.stack) >= m.lim.MaxStack {
		return fmt.Errorf("stack exceeds %d values", m.lim.MaxStack)
	}
	m.objects++
	if m.objects > m.lim.MaxObjects {
		return fmt.Errorf("pickle builds more than %d values", m.lim.MaxObjects)
	}
	m.stack = append(m.stack, v)
	return nil
}

func (m *machine) pop() (any, error) {
	n := len(m.stack)
	if n == 0 || (len(m.marks) > 0 && m.marks[len(m.marks)-1] == n) {
		return nil, errors.New("stack underflow")
	}
	v := m.stack[n-1]
	m.stack = m.stack[:n-1]
	return v, nil
}

func (m *machine) top() (any, error) {
	n := len(m.stack)
	if n == 0 || (len(m.marks) > 0 && m.marks[len(m.marks)-1] == n) {
		return nil, errors.New("stack underflow")
	}
	return m.stack[n-1], nil
}

// popMark pops everything above the last MARK and the mark itself.
func (m *machine) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	k := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := append([]any(nil), m.stack[k:]...)
	m.stack = m.stack[:k]
	return items, nil
}

func (m *machine) string(n uint64, utf bool) (any, error) {
	if n > uint64(m.lim.MaxString) {
		return nil, fmt.Errorf("string of %d bytes exceeds the %d-byte limit", n, m.lim.MaxString)
	}
	b, err := m.read(int(n))
	if err != nil {
		return nil, err
	}
	if utf {
		return string(b), nil
	}
	return append([]byte(nil), b...), nil
}

func (m *machine) memoPut(idx uint64, v any) error {
	if _, ok := m.memo[idx]; !ok && len(m.memo) >= m.lim.MaxMemo {
		return fmt.Errorf("memo exceeds %d entries", m.lim.MaxMemo)
	}
	m.memo[idx] = v
	return nil
}

func (m *machine) memoGet(idx uint64) error {
	v, ok := m.memo[idx]
	if !ok {
		return fmt.Errorf("memo has no entry %d", idx)
	}
	return m.push(v)
}

func (m *machine) run() (any, error) {
	for {
		if m.pos >= len(m.data) {
			return nil, errors.New("truncated pickle: no STOP opcode")
		}
		op := m.data[m.pos]
		m.pos++
		if op == '.' { // STOP
			v, err := m.pop()
			if err != nil {
				return nil, m.errorf(op, "%v", err)
			}
			return v, nil
		}
		if err := m.step(op); err != nil {
			var re *RefusedError
			if errors.As(err, &re) {
				return nil, err
			}
			return nil, m.errorf(op, "%v", err)
		}
	}
}

func (m *machine) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		p, err := m.readUint(1)
		if err != nil {
			return err
		}
		if p > 5 {
			return fmt.Errorf("unsupported pickle protocol %d", p)
		}
	case 0x95: // FRAME
		_, err := m.readUint(8)
		return err
	case '(': // MARK
		if len(m.marks) >= m.lim.MaxMarks {
			return fmt.Errorf("more than %d nested MARKs", m.lim.MaxMarks)
		}
		m.marks = append(m.marks, len(m.stack))
	case '0': // POP
		if n := len(m.stack); len(m.marks) > 0 && m.marks[len(m.marks)-1] == n {
			_, err := m.popMark() // POP of a mark discards the mark (as CPython does)
			return err
		}
		_, err := m.pop()
		return err
	case '1': // POP_MARK
		_, err := m.popMark()
		return err
	case '2': // DUP
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.push(v)
	case 'N':
		return m.push(nil)
	case 0x88:
		return m.push(true)
	case 0x89:
		return m.push(false)
	case 'I', 'L', 'F', 'S', 'V':
		return m.textScalar(op)
	case 'J': // BININT
		v, err := m.readUint(4)
		if err != nil {
			return err
		}
		return m.push(int64(int32(uint32(v))))
	case 'K': // BININT1
		v, err := m.readUint(1)
		if err != nil {
			return err
		}
		return m.push(int64(v))
	case 'M': // BININT2
		v, err := m.readUint(2)
		if err != nil {
			return err
		}
		return m.push(int64(v))
	case 0x8a, 0x8b: // LONG1, LONG4
		w := 1
		if op == 0x8b {
			w = 4
		}
		n, err := m.readUint(w)
		if err != nil {
			return err
		}
		if n > maxNumberText {
			return fmt.Errorf("integer of %d bytes is too long", n)
		}
		b, err := m.read(int(n))
		if err != nil {
			return err
		}
		return m.push(decodeLong(b))
	case 'G': // BINFLOAT (big-endian)
		b, err := m.read(8)
		if err != nil {
			return err
		}
		return m.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'T', 'B': // BINSTRING, BINBYTES
		n, err := m.readUint(4)
		if err != nil {
			return err
		}
		return m.pushString(n, false)
	case 'U', 'C': // SHORT_BINSTRING, SHORT_BINBYTES
		n, err := m.readUint(1)
		if err != nil {
			return err
		}
		return m.pushString(n, false)
	case 0x8e, 0x96: // BINBYTES8, BYTEARRAY8
		n, err := m.readUint(8)
		if err != nil {
			return err
		}
		return m.pushString(n, false)
	case 'X': // BINUNICODE
		n, err := m.readUint(4)
		if err != nil {
			return err
		}
		return m.pushString(n, true)
	case 0x8c: // SHORT_BINUNICODE
		n, err := m.readUint(1)
		if err != nil {
			return err
		}
		return m.pushString(n, true)
	case 0x8d: // BINUNICODE8
		n, err := m.readUint(8)
		if err != nil {
			return err
		}
		return m.pushString(n, true)
	case ']': // EMPTY_LIST
		return m.push(&List{})
	case ')': // EMPTY_TUPLE
		return m.push(Tuple{})
	case '}': // EMPTY_DICT
		return m.push(NewDict())
	case 0x8f: // EMPTY_SET
		return m.push(&Set{})
	case 'l', 't', 'd', 0x91: // LIST, TUPLE, DICT, FROZENSET
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.push(buildFromItems(op, items))
	case 0x85, 0x86, 0x87: // TUPLE1..3
		n := int(op - 0x84)
		if len(m.stack) < n || (len(m.marks) > 0 && m.marks[len(m.marks)-1] > len(m.stack)-n) {
			return errors.New("stack underflow")
		}
		t := append(Tuple(nil), m.stack[len(m.stack)-n:]...)
		m.stack = m.stack[:len(m.stack)-n]
		return m.push(t)
	case 'a': // APPEND
		v, err := m.pop()
		if err != nil {
			return err
		}
		return m.appendTo(op, []any{v})
	case 'e': // APPENDS
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.appendTo(op, items)
	case 0x90: // ADDITEMS
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.appendTo(op, items)
	case 's': // SETITEM
		v, err := m.pop()
		if err != nil {
			return err
		}
		k, err := m.pop()
		if err != nil {
			return err
		}
		return m.setItems([]any{k, v})
	case 'u': // SETITEMS
		items, err := m.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return errors.New("SETITEMS with an odd number of values")
		}
		return m.setItems(items)
	case 'p': // PUT
		line, err := m.readLine()
		if err != nil {
			return err
		}
		idx, err := strconv.ParseUint(line, 10, 32)
		if err != nil {
			return fmt.Errorf("bad memo index %q", line)
		}
		return m.put(idx)
	case 'q', 'r': // BINPUT, LONG_BINPUT
		w := 1
		if op == 'r' {
			w = 4
		}
		idx, err := m.readUint(w)
		if err != nil {
			return err
		}
		return m.put(idx)
	case 0x94: // MEMOIZE
		return m.put(uint64(len(m.memo)))
	case 'g': // GET
		line, err := m.readLine()
		if err != nil {
			return err
		}
		idx, err := strconv.ParseUint(line, 10, 32)
		if err != nil {
			return fmt.Errorf("bad memo index %q", line)
		}
		return m.memoGet(idx)
	case 'h', 'j': // BINGET, LONG_BINGET
		w := 1
		if op == 'j' {
			w = 4
		}
		idx, err := m.readUint(w)
		if err != nil {
			return err
		}
		return m.memoGet(idx)
	case 'c': // GLOBAL
		mod, err := m.readLine()
		if err != nil {
			return err
		}
		name, err := m.readLine()
		if err != nil {
			return err
		}
		g, err := resolveGlobal(mod, name)
		if err != nil {
			return err
		}
		return m.push(g)
	case 0x93: // STACK_GLOBAL
		nv, err := m.pop()
		if err != nil {
			return err
		}
		mv, err := m.pop()
		if err != nil {
			return err
		}
		mod, ok1 := mv.(string)
		name, ok2 := nv.(string)
		if !ok1 || !ok2 {
			return fmt.Errorf("STACK_GLOBAL needs two strings, got %T and %T", mv, nv)
		}
		g, err := resolveGlobal(mod, name)
		if err != nil {
			return err
		}
		return m.push(g)
	case 'R': // REDUCE
		args, err := m.pop()
		if err != nil {
			return err
		}
		fn, err := m.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			return fmt.Errorf("REDUCE arguments are %T, not a tuple", args)
		}
		v, err := call(fn, t)
		if err != nil {
			return err
		}
		return m.push(v)
	case 0x81: // NEWOBJ
		args, err := m.pop()
		if err != nil {
			return err
		}
		cls, err := m.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			return fmt.Errorf("NEWOBJ arguments are %T, not a tuple", args)
		}
		v, err := call(cls, t)
		if err != nil {
			return err
		}
		return m.push(v)
	case 0x92: // NEWOBJ_EX
		if _, err := m.pop(); err != nil { // kwargs
			return err
		}
		args, err := m.pop()
		if err != nil {
			return err
		}
		cls, err := m.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			return fmt.Errorf("NEWOBJ_EX arguments are %T, not a tuple", args)
		}
		v, err := call(cls, t)
		if err != nil {
			return err
		}
		return m.push(v)
	case 'i': // INST
		mod, err := m.readLine()
		if err != nil {
			return err
		}
		name, err := m.readLine()
		if err != nil {
			return err
		}
		g, err := resolveGlobal(mod, name)
		if err != nil {
			return err
		}
		args, err := m.popMark()
		if err != nil {
			return err
		}
		v, err := call(g, Tuple(args))
		if err != nil {
			return err
		}
		return m.push(v)
	case 'o': // OBJ
		items, err := m.popMark()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return errors.New("OBJ without a class")
		}
		v, err := call(items[0], Tuple(items[1:]))
		if err != nil {
			return err
		}
		return m.push(v)
	case 'b': // BUILD: state is dropped; no allowed object needs it
		if _, err := m.pop(); err != nil {
			return err
		}
		_, err := m.top()
		return err
	case 'P': // PERSID
		line, err := m.readLine()
		if err != nil {
			return err
		}
		return m.persistent(line)
	case 'Q': // BINPERSID
		pid, err := m.pop()
		if err != nil {
			return err
		}
		return m.persistent(pid)
	case 0x82, 0x83, 0x84: // EXT1, EXT2, EXT4
		return errors.New("extension registry codes are not supported")
	case 0x97, 0x98: // NEXT_BUFFER, READONLY_BUFFER
		return errors.New("out-of-band buffers are not supported")
	default:
		return fmt.Errorf("unknown opcode 0x%02x", op)
	}
	return nil
}

func (m *machine) pushString(n uint64, utf bool) error {
	v, err := m.string(n, utf)
	if err != nil {
		return err
	}
	return m.push(v)
}

func (m *machine) put(idx uint64) error {
	v, err := m.top()
	if err != nil {
		return err
	}
	return m.memoPut(idx, v)
}

func (m *machine) persistent(pid any) error {
	if m.persist == nil {
		return errors.New("persistent id without a loader")
	}
	v, err := m.persist(pid)
	if err != nil {
		return err
	}
	return m.push(v)
}

func buildFromItems(op byte, items []any) any {
	switch op {
	case 'l':
		return &List{Items: items}
	case 't':
		return Tuple(items)
	case 0x91:
		return &Set{Items: items}
	}
	d := NewDict()
	for i := 0; i+1 < len(items); i += 2 {
		d.Set(items[i], items[i+1])
	}
	return d
}

func (m *machine) appendTo(op byte, items []any) error {
	target, err := m.top()
	if err != nil {
		return err
	}
	switch t := target.(type) {
	case *List:
		if op == 0x90 {
			return errors.New("ADDITEMS on a list")
		}
		t.Items = append(t.Items, items...)
	case *Set:
		if op != 0x90 {
			return errors.New("APPEND on a set")
		}
		t.Items = append(t.Items, items...)
	case *Skipped:
	default:
		return fmt.Errorf("cannot append to %T", target)
	}
	return nil
}

func (m *machine) setItems(kv []any) error {
	target, err := m.top()
	if err != nil {
		return err
	}
	switch t := target.(type) {
	case *Dict:
		for i := 0; i+1 < len(kv); i += 2 {
			t.Set(kv[i], kv[i+1])
		}
	case *Skipped:
	default:
		return fmt.Errorf("cannot set items on %T", target)
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		if shift := 64 - 8*len(b); shift > 0 {
			return int64(v<<shift) >> shift
		}
		return int64(v)
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if v.IsInt64() {
		return v.Int64()
	}
	return v
}

// textScalar handles the protocol-0 opcodes INT, LONG, FLOAT, STRING, UNICODE.
func (m *machine) textScalar(op byte) error {
	line, err := m.readLine()
	if err != nil {
		return err
	}
	switch op {
	case 'I', 'L':
		s := strings.TrimSuffix(line, "L")
		if op == 'I' && s == "00" {
			return m.push(false)
		}
		if op == 'I' && s == "01" {
			return m.push(true)
		}
		if len(s) > maxNumberText {
			return fmt.Errorf("integer of %d digits is too long", len(s))
		}
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return m.push(v)
		}
		v, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return fmt.Errorf("bad integer %q", line)
		}
		return m.push(v)
	case 'F':
		v, err := strconv.ParseFloat(line, 64)
		if err != nil {
			return fmt.Errorf("bad float %q", line)
		}
		return m.push(v)
	case 'S':
		s, err := unquotePython(line)
		if err != nil {
			return err
		}
		return m.push([]byte(s))
	default: // 'V' raw-unicode-escape
		return m.push(rawUnicodeEscape(line))
	}
}

// unquotePython decodes a protocol-0 STRING argument: a Python string literal
// in single or double quotes with backslash escapes.
func unquotePython(s string) (string, error) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') || s[len(s)-1] != s[0] {
		return "", fmt.Errorf("bad STRING literal %.40q", s)
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'x':
			if i+3 <= len(s) {
				if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
					b.WriteByte(byte(v))
					i += 2
					continue
				}
			}
			return "", fmt.Errorf("bad \\x escape in STRING literal")
		default:
			if e >= '0' && e <= '7' {
				v, j := 0, i
				for ; j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7'; j++ {
					v = v*8 + int(s[j]-'0')
				}
				b.WriteByte(byte(v))
				i = j - 1
				continue
			}
			b.WriteByte(e) // \\, \', \" and unknown escapes
		}
	}
	return b.String(), nil
}

// rawUnicodeEscape decodes Python's raw-unicode-escape: \uXXXX and
// \UXXXXXXXX escapes; every other byte is a Latin-1 code point.
func rawUnicodeEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
			n := 4
			if s[i+1] == 'U' {
				n = 8
			}
			if i+2+n <= len(s) {
				if v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32); err == nil && utf8.ValidRune(rune(v)) {
					b.WriteRune(rune(v))
					i += 1 + n
					continue
				}
			}
		}
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}
