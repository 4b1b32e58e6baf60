package prompt

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Scheduled is one entry of a prompt schedule: Prompt is in effect up to
// and including sampling step EndStep.
type Scheduled struct {
	EndStep int
	Prompt  string
}

// ScheduleOptions are the numbers a schedule is built for.
type ScheduleOptions struct {
	// Steps is the number of sampling steps of the first pass (webui
	// passes twice the steps for second-order samplers such as Heun).
	Steps int
	// HiresSteps, when > 0, builds the timeline of a hires-fix second pass
	// of that many steps: integer switch points are offset by Steps and
	// fractions by 1.0, so [a:b:1.5] switches half-way through that pass.
	HiresSteps int
	// OldScheduling is webui's "Old prompt editing timelines" option: a
	// number below 1 is a fraction of the steps, any other a step, decimal
	// point or not; hires offsets do not apply.
	OldScheduling bool
}

// MaxNesting is the deepest bracket nesting Schedule accepts.
const MaxNesting = 1000

// ErrTooDeep is returned (wrapped) by Schedule for brackets nested more than
// MaxNesting deep.
var ErrTooDeep = errors.New("prompt: brackets nested too deep")

// Schedule expands prompt editing and alternation for a run of steps
// sampling steps (see ScheduleWith).
func Schedule(prompt string, steps int) ([]Scheduled, error) {
	return ScheduleWith(prompt, ScheduleOptions{Steps: steps})
}

// ScheduleWith expands prompt editing and alternation the way webui's
// get_learned_conditioning_prompt_schedules does:
//
//	[from:to:when]  from up to step when, to afterwards
//	[to:when]       nothing, then to;   [from::when]  from, then nothing
//	[a|b|c]         a at step 1, b at 2, c at 3, a at 4, ... (empty options allowed)
//
// They nest. A when with a decimal point is a fraction of the steps
// (int(when*steps)), one without is a step; switch points are clamped to
// the step count, and those below 1 add no entry. The result lists each
// distinct text with the last step it is used at, ending at the step
// count. A prompt that does not parse as webui's grammar (a "|" outside
// [ ], a trailing backslash) is used literally for all steps. Attention
// brackets are left in the text for ParseAttention.
func ScheduleWith(prompt string, o ScheduleOptions) ([]Scheduled, error) {
	if o.Steps < 1 {
		return nil, fmt.Errorf("prompt: schedule: %d steps: want at least 1", o.Steps)
	}
	steps, intOffset, fltOffset := o.Steps, 0.0, 0.0
	if o.HiresSteps > 0 && !o.OldScheduling {
		steps, intOffset, fltOffset = o.HiresSteps, float64(o.Steps), 1
	}
	p := &parser{s: prompt, memo: make(map[int]item)}
	root, ok := p.start()
	if p.err != nil {
		return nil, fmt.Errorf("prompt: schedule: %w", p.err)
	}
	if !ok {
		return []Scheduled{{steps, prompt}}, nil
	}

	// Collect every switch point, in taken branches or not.
	points := map[int]bool{steps: true}
	walk(root, func(n *node) {
		switch n.kind {
		case nodeSched:
			n.when = switchStep(n.num, steps, intOffset, fltOffset, o.OldScheduling)
			if n.when >= 1 {
				points[n.when] = true
			}
		case nodeAlt:
			for s := 1; s <= steps; s++ {
				points[s] = true
			}
		}
	})
	out := make([]Scheduled, 0, len(points))
	for s := 1; s <= steps; s++ {
		if points[s] {
			var sb strings.Builder
			root.write(&sb, s)
			out = append(out, Scheduled{s, sb.String()})
		}
	}
	return out, nil
}

// At returns the index of the entry in effect at 0-based sampler step
// step: the first whose EndStep is >= step, else 0 (webui's
// reconstruct_cond_batch; its denoiser counts steps from 0).
func At(sched []Scheduled, step int) int {
	for i, s := range sched {
		if step <= s.EndStep {
			return i
		}
	}
	return 0
}

// switchStep turns the NUMBER of [a:b:NUMBER] into a step.
func switchStep(num string, steps int, intOffset, fltOffset float64, old bool) int {
	v, err := pyFloat(num)
	if err != nil {
		return steps // cannot happen: the grammar only accepts numbers
	}
	fs := float64(steps)
	switch {
	case old:
		if v < 1 {
			v *= fs
		}
	case strings.Contains(num, "."):
		v = (v - fltOffset) * fs
	default:
		v -= intOffset
	}
	v = math.Trunc(v) // Python int()
	switch {
	case v >= fs:
		return steps
	case v < math.MinInt32:
		return math.MinInt32
	}
	return int(v)
}

type nodeKind uint8

const (
	nodeText  nodeKind = iota // text written as is
	nodeSeq                   // kids in order
	nodeSched                 // kids[0] before (nil if absent), kids[1] after
	nodeAlt                   // kids are the options (nil for an empty one)
)

type node struct {
	kind nodeKind
	text string
	kids []*node
	num  string // nodeSched: the switch point as written
	when int    // nodeSched: the resolved switch step
}

func textNode(s string) *node { return &node{kind: nodeText, text: s} }

func walk(n *node, f func(*node)) {
	if n == nil {
		return
	}
	f(n)
	for _, k := range n.kids {
		walk(k, f)
	}
}

// write appends the text n stands for at step.
func (n *node) write(sb *strings.Builder, step int) {
	if n == nil {
		return
	}
	switch n.kind {
	case nodeText:
		sb.WriteString(n.text)
	case nodeSeq:
		for _, k := range n.kids {
			k.write(sb, step)
		}
	case nodeSched:
		if step <= n.when {
			n.kids[0].write(sb, step)
		} else {
			n.kids[1].write(sb, step)
		}
	case nodeAlt:
		n.kids[(step-1)%len(n.kids)].write(sb, step)
	}
}

// parser reads webui's Lark grammar for prompt editing:
//
//	start:       (prompt | /[][():]/+)*
//	prompt:      (emphasized | scheduled | alternate | plain | WHITESPACE)*
//	emphasized:  "(" prompt ")" | "(" prompt ":" prompt ")" | "[" prompt "]"
//	scheduled:   "[" [prompt ":"] prompt ":" [WHITESPACE] NUMBER [WHITESPACE] "]"
//	alternate:   "[" prompt ("|" [prompt])+ "]"
//	plain:       /([^\\\[\]():|]|\\.)+/
//
// Inside a prompt the parse is deterministic: a bracket either forms one of
// the three constructs (told apart by the ":" and "|" at its own level) or
// ends the prompt. At the top level a bracket that forms a construct is
// taken as one (as webui's parser resolves the ambiguity), else it is a
// stray character. Results per position are memoized, so the parse is
// linear in the prompt length.
type parser struct {
	s     string
	memo  map[int]item
	depth int
	err   error
}

type item struct {
	n   *node
	end int
	ok  bool
}

// start parses the whole prompt; ok is false when it does not fit the
// grammar.
func (p *parser) start() (*node, bool) {
	root := &node{kind: nodeSeq}
	for i := 0; i < len(p.s); {
		n, end := p.prompt(i)
		if p.err != nil {
			return nil, false
		}
		if end > i {
			root.kids = append(root.kids, n)
			i = end
			continue
		}
		switch p.s[i] {
		case '[', ']', '(', ')', ':':
			root.kids = append(root.kids, textNode(p.s[i:i+1]))
			i++
		default: // '|' outside brackets, or a backslash escaping nothing
			return nil, false
		}
	}
	return root, true
}

// prompt parses the longest prompt at i.
func (p *parser) prompt(i int) (*node, int) {
	seq := &node{kind: nodeSeq}
	textStart := i
	flush := func(end int) {
		if end > textStart {
			seq.kids = append(seq.kids, textNode(p.s[textStart:end]))
		}
	}
loop:
	for i < len(p.s) {
		switch p.s[i] {
		case '\\':
			if i+1 >= len(p.s) {
				break loop
			}
			r, n := utf8.DecodeRuneInString(p.s[i+1:])
			if r == '\n' {
				break loop
			}
			i += 1 + n
		case ':', '|', ']', ')':
			break loop
		case '(', '[':
			it := p.item(i)
			if !it.ok {
				break loop
			}
			flush(i)
			seq.kids = append(seq.kids, it.n)
			i = it.end
			textStart = i
		default:
			i++
		}
	}
	flush(i)
	return seq, i
}

// item parses the bracket construct at i (memoized).
func (p *parser) item(i int) item {
	if it, ok := p.memo[i]; ok {
		return it
	}
	if p.err != nil {
		return item{}
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > MaxNesting {
		p.err = fmt.Errorf("%w (more than %d levels)", ErrTooDeep, MaxNesting)
		return item{}
	}
	var it item
	if p.s[i] == '(' {
		it = p.round(i)
	} else {
		it = p.square(i)
	}
	if p.err == nil {
		p.memo[i] = it
	}
	return it
}

// round parses "(" prompt ")" or "(" prompt ":" prompt ")" at i; the
// brackets and colon stay in the text.
func (p *parser) round(i int) item {
	in1, e := p.prompt(i + 1)
	if e >= len(p.s) {
		return item{}
	}
	switch p.s[e] {
	case ')':
		return item{&node{kind: nodeSeq, kids: []*node{textNode("("), in1, textNode(")")}}, e + 1, true}
	case ':':
		in2, e2 := p.prompt(e + 1)
		if e2 < len(p.s) && p.s[e2] == ')' {
			return item{&node{kind: nodeSeq, kids: []*node{textNode("("), in1, textNode(":"), in2, textNode(")")}}, e2 + 1, true}
		}
	}
	return item{}
}

// square parses the constructs that start with "[" at i.
func (p *parser) square(i int) item {
	type piece struct {
		n          *node
		start, end int
	}
	var pieces []piece
	var delims []byte
	e := i + 1
	for {
		n, end := p.prompt(e)
		if end >= len(p.s) || p.err != nil {
			return item{}
		}
		pieces = append(pieces, piece{n, e, end})
		c := p.s[end]
		if c == ']' {
			e = end + 1
			break
		}
		if c != ':' && c != '|' {
			return item{}
		}
		delims = append(delims, c)
		e = end + 1
	}
	colons := strings.Count(string(delims), ":")
	switch {
	case len(delims) == 0: // [prompt]
		return item{&node{kind: nodeSeq, kids: []*node{textNode("["), pieces[0].n, textNode("]")}}, e, true}
	case colons == 0: // [a|b|...]
		alt := &node{kind: nodeAlt}
		for _, pc := range pieces {
			alt.kids = append(alt.kids, pc.n)
		}
		return item{alt, e, true}
	case colons == len(delims) && colons <= 2: // [to:when] or [from:to:when]
		last := pieces[len(pieces)-1]
		num, ok := scheduleNumber(p.s[last.start:last.end])
		if !ok {
			return item{}
		}
		sched := &node{kind: nodeSched, num: num}
		if colons == 1 {
			sched.kids = []*node{nil, pieces[0].n}
		} else {
			sched.kids = []*node{pieces[0].n, pieces[1].n}
		}
		return item{sched, e, true}
	}
	return item{}
}

// scheduleNumber matches [WHITESPACE] NUMBER [WHITESPACE], NUMBER being
// Lark's SIGNED_NUMBER: [+-]? (INT EXP | DECIMAL EXP? | INT) with
// DECIMAL = INT "." INT? | "." INT and EXP = [eE] [+-]? INT, ASCII digits.
func scheduleNumber(s string) (string, bool) {
	s = strings.TrimFunc(s, pySpace)
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	intPart := digits()
	frac := 0
	if i < len(s) && s[i] == '.' {
		i++
		frac = digits()
		if intPart == 0 && frac == 0 {
			return "", false
		}
	} else if intPart == 0 {
		return "", false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return "", false
		}
	}
	return s, i == len(s) && s != ""
}
