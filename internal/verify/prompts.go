package verify

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"sdgo/internal/fixture"
	"sdgo/internal/pipeline"
	"sdgo/internal/prompt"
)

func init() {
	kinds["parse_prompt_attention"] = runParseAttention
	kinds["prompt_schedule"] = runPromptSchedule
	kinds["a1111_emphasis"] = runEmphasis
}

// pyPair is a two-element JSON list of cases.json: [text, weight] of the
// parser, [end_step, text] of a schedule.
type pyPair [2]json.RawMessage

// spansOf decodes parser output [[text, weight], ...].
func spansOf(pairs []pyPair) ([]prompt.Span, error) {
	out := make([]prompt.Span, len(pairs))
	for i, p := range pairs {
		if err := json.Unmarshal(p[0], &out[i].Text); err != nil {
			return nil, fmt.Errorf("part %d: text: %w", i, err)
		}
		if err := json.Unmarshal(p[1], &out[i].Weight); err != nil {
			return nil, fmt.Errorf("part %d: weight: %w", i, err)
		}
	}
	return out, nil
}

// compareSpans checks parser output: texts exactly, weights within tol. It
// returns the largest weight error and what failed ("" when nothing did).
func compareSpans(got, want []prompt.Span, tol float64) (float64, string) {
	if len(got) != len(want) {
		return math.Inf(1), fmt.Sprintf("%d parts, want %d: got %+v", len(got), len(want), got)
	}
	worst := 0.0
	for i := range want {
		if got[i].Text != want[i].Text {
			return math.Inf(1), fmt.Sprintf("part %d text %q, want %q", i, got[i].Text, want[i].Text)
		}
		d := math.Abs(got[i].Weight - want[i].Weight)
		worst = max(worst, d)
		if d > tol || math.IsNaN(got[i].Weight) {
			return worst, fmt.Sprintf("part %d (%q) weight %.17g, want %.17g", i, want[i].Text, got[i].Weight, want[i].Weight)
		}
	}
	return worst, ""
}

// runParseAttention checks prompt.ParseAttention against webui's
// parse_prompt_attention: texts exact, weights within weights_abs.
func runParseAttention(r *Runner, c *fixture.Case) []Result {
	var in struct {
		Prompt string `json:"prompt"`
	}
	var want struct {
		Parts []pyPair `json:"parts"`
	}
	if err := c.DecodeInputs(&in); err != nil {
		return []Result{errResult(c, "", err)}
	}
	if err := c.DecodeExpected(&want); err != nil {
		return []Result{errResult(c, "", err)}
	}
	exp, err := spansOf(want.Parts)
	if err != nil {
		return []Result{errResult(c, "", fmt.Errorf("expected.parts: %w", err))}
	}
	res := newResult(c, "", c.Tolerance)
	res.Tol = fmt.Sprintf("text exact, weights %g", c.Tolerance.WeightsAbs)
	var detail string
	res.MaxErr, detail = compareSpans(prompt.ParseAttention(in.Prompt), exp, c.Tolerance.WeightsAbs)
	if detail != "" {
		res.Status, res.Detail = Fail, detail
	}
	return []Result{res}
}

// runPromptSchedule checks prompt.Schedule against webui's
// get_learned_conditioning_prompt_schedules, exactly.
func runPromptSchedule(r *Runner, c *fixture.Case) []Result {
	var in struct {
		Prompt string `json:"prompt"`
		Steps  int    `json:"steps"`
	}
	var want struct {
		Schedule []pyPair `json:"schedule"`
	}
	if err := c.DecodeInputs(&in); err != nil {
		return []Result{errResult(c, "", err)}
	}
	if err := c.DecodeExpected(&want); err != nil {
		return []Result{errResult(c, "", err)}
	}
	exp := make([]prompt.Scheduled, len(want.Schedule))
	for i, p := range want.Schedule {
		e1 := json.Unmarshal(p[0], &exp[i].EndStep)
		e2 := json.Unmarshal(p[1], &exp[i].Prompt)
		if e1 != nil || e2 != nil {
			return []Result{errResult(c, "", fmt.Errorf("expected.schedule[%d]: %v %v", i, e1, e2))}
		}
	}
	res := newResult(c, "", fixture.Tolerance{Exact: true})
	got, err := prompt.Schedule(in.Prompt, in.Steps)
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	if !slices.Equal(got, exp) {
		res.Status, res.MaxErr = Fail, 1
		res.Detail = fmt.Sprintf("got %+v, want %+v", got, exp)
	}
	return []Result{res}
}

// runEmphasis checks webui's weighted-prompt path: ParseAttention ->
// Chunks (tokens and multipliers exact) -> encode each chunk ->
// z_before_emphasis -> pipeline.ApplyEmphasis per chunk -> z_after_emphasis.
func runEmphasis(r *Runner, c *fixture.Case) []Result {
	var in struct {
		Prompt string `json:"prompt"`
		Model  string `json:"model"`
	}
	var want struct {
		Parsed []pyPair `json:"parsed"`
		Chunks []struct {
			Tokens      []int     `json:"tokens"`
			Multipliers []float64 `json:"multipliers"`
		} `json:"chunks"`
	}
	if err := c.DecodeInputs(&in); err != nil {
		return []Result{errResult(c, "", err)}
	}
	if err := c.DecodeExpected(&want); err != nil {
		return []Result{errResult(c, "", err)}
	}
	tok, err := r.env.tokenizer()
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	m, err := r.env.model(modelKey{name: in.Model})
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	res := r.newNetResult(c, "")

	// 1. Parse and chunk: exact.
	spans := prompt.ParseAttention(in.Prompt)
	if want.Parsed != nil {
		exp, err := spansOf(want.Parsed)
		if err != nil {
			return []Result{errResult(c, "", fmt.Errorf("expected.parsed: %w", err))}
		}
		if _, d := compareSpans(spans, exp, 1e-12); d != "" {
			res.Status, res.Detail = Fail, "parsed: "+d
			return []Result{res}
		}
	}
	chunks := prompt.Chunks(spans, tok.Encode, m.Text[0].PadID)
	if len(chunks) != len(want.Chunks) {
		res.Status, res.Detail = Fail, fmt.Sprintf("%d chunks, want %d", len(chunks), len(want.Chunks))
		return []Result{res}
	}
	for i, ch := range chunks {
		if !slices.Equal(ch.Tokens, want.Chunks[i].Tokens) {
			res.Status, res.Detail = Fail, fmt.Sprintf("chunk %d tokens %v, want %v", i, ch.Tokens, want.Chunks[i].Tokens)
			return []Result{res}
		}
		if !slices.Equal(ch.Multipliers, want.Chunks[i].Multipliers) {
			res.Status, res.Detail = Fail, fmt.Sprintf("chunk %d multipliers %v, want %v", i, ch.Multipliers, want.Chunks[i].Multipliers)
			return []Result{res}
		}
	}

	// 2. Encode each chunk, concatenate on the token axis, emphasise.
	var before, after []float32
	for _, ch := range chunks {
		enc, err := m.EncodeText(0, [][]int{ch.Tokens}, 1)
		if err != nil {
			return []Result{errResult(c, "", err)}
		}
		before = append(before, enc.Hidden...)
		after = append(after, pipeline.ApplyEmphasis(enc.Hidden, len(ch.Tokens), enc.Width, ch.Multipliers)...)
	}
	checked := 0
	for _, role := range []string{"z_before_emphasis", "z_after_emphasis"} {
		got := before
		if role == "z_after_emphasis" {
			got = after
		}
		if name, ok := c.ExpectedTensors[role]; ok {
			r.compareTensor(&res, role, name, got, r.tol(c, forwardOut))
			checked++
		}
	}
	if checked == 0 {
		res.Status, res.Detail = Error, "case has no z_before_emphasis / z_after_emphasis tensor"
	}
	return []Result{res}
}
