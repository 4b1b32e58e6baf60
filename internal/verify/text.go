package verify

import (
	"fmt"
	"slices"

	"sdgo/internal/fixture"
	"sdgo/internal/tokenizer"
)

func init() {
	kinds["tokenizer"] = runTokenizer
}

// runTokenizer checks the ids of one prompt in every form the case gives.
func runTokenizer(r *Runner, c *fixture.Case) []Result {
	tok, err := r.env.tokenizer()
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	var in struct {
		Prompt string `json:"prompt"`
	}
	var want struct {
		IDs          []int `json:"ids"`
		NoSpecial    []int `json:"ids_no_special"`
		Padded77SD1  []int `json:"ids_padded77_sd1"`
		Padded77SD2  []int `json:"ids_padded77_sd2"`
		OpenAISimple []int `json:"ids_openai_simple_tokenizer"`
	}
	if err := c.DecodeInputs(&in); err != nil {
		return []Result{errResult(c, "", err)}
	}
	if err := c.DecodeExpected(&want); err != nil {
		return []Result{errResult(c, "", err)}
	}
	res := newResult(c, "", fixture.Tolerance{Exact: true})
	check := func(label string, got, exp []int) {
		if exp == nil || res.Status != Pass {
			return
		}
		if !slices.Equal(got, exp) {
			res.Status, res.MaxErr = Fail, 1
			res.Detail = fmt.Sprintf("%s: got %v, want %v", label, got, exp)
		}
	}
	check("ids", tok.EncodeWithSpecial(in.Prompt), want.IDs)
	check("ids_no_special", tok.Encode(in.Prompt), want.NoSpecial)
	check("ids_padded77_sd1", tok.Context77(in.Prompt, tokenizer.EOS), want.Padded77SD1)
	check("ids_padded77_sd2", tok.Context77(in.Prompt, tokenizer.PadSD2), want.Padded77SD2)
	if want.OpenAISimple != nil {
		check("ids_openai_simple_tokenizer", tok.WithNormalizer(tokenizer.NormalizeOpenAI).Encode(in.Prompt), want.OpenAISimple)
	}
	return []Result{res}
}
