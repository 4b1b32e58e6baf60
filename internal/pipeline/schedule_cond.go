package pipeline

import (
	"fmt"

	"sdgo/internal/prompt"
	"sdgo/internal/sample"
)

// ScheduledCond is conditioning in effect up to and including the 0-based
// sampler step EndStep (webui's ScheduledPromptConditioning).
type ScheduledCond struct {
	EndStep int
	Cond    Cond
}

// CondSchedule is one prompt's conditioning over the sampling steps, one
// entry per distinct text of its prompt-editing and alternation schedule.
type CondSchedule []ScheduledCond

// At returns the index of the entry in effect at 0-based sampler step step:
// the first whose EndStep >= step, else 0 (webui's reconstruct_cond_batch).
func (s CondSchedule) At(step int) int {
	for i, e := range s {
		if step <= e.EndStep {
			return i
		}
	}
	return 0
}

// WeightedSchedule is one AND part of a prompt (composable diffusion).
type WeightedSchedule struct {
	Weight float64
	Sched  CondSchedule
}

// ImageConds is one image's conditioning over the steps: the AND parts of
// its prompt and its negative prompt's schedule (a negative prompt is
// never split on AND, as in webui).
type ImageConds struct {
	Parts  []WeightedSchedule
	Uncond CondSchedule
}

// First returns the conditioning of step 0: the first AND part's and the
// negative prompt's.
func (ic ImageConds) First() (cond, uncond Cond) {
	return ic.Parts[0].Sched[ic.Parts[0].Sched.At(0)].Cond, ic.Uncond[ic.Uncond.At(0)].Cond
}

// ScheduleSteps is the step count prompt schedules are built on: webui
// doubles it for second-order samplers (two model calls per step).
func ScheduleSteps(smp sample.Sampler, steps int) int {
	if smp.SecondOrder {
		return 2 * steps
	}
	return steps
}

// EncodeSchedules conditions a job's prompts for steps schedule steps (see
// ScheduleSteps): the positive prompt is split on AND, each part expanded
// with prompt.Schedule; the negative prompt is only scheduled. Each
// distinct text is encoded once, so equal texts share their slices, and
// all of them in one call per text encoder.
func (c *Conditioner) EncodeSchedules(positive, negative string, size Size, steps int) (ImageConds, error) {
	return c.EncodeSchedulesWith(positive, negative, size, prompt.ScheduleOptions{Steps: steps})
}

// EncodeSchedulesWith is EncodeSchedules with webui's full timeline
// options: a hires-fix second pass sets HiresSteps (see HiresSchedule).
func (c *Conditioner) EncodeSchedulesWith(positive, negative string, size Size, o prompt.ScheduleOptions) (ImageConds, error) {
	// The positive prompt's <lora:...> tags are for activateNetworks, not
	// the text encoder (webui cuts them out first; negative prompts keep
	// their text).
	positive = withoutNetworks(positive)
	return buildSchedules(positive, negative, o, func(texts []condText) ([]Cond, error) {
		return c.encodeTexts(texts, size)
	})
}

// HiresSchedule is the prompt timeline of a hires-fix second pass, as
// webui's calculate_hr_conds builds it: Steps are the first pass's
// schedule steps (firstSmp, firstSteps) and HiresSteps the second pass's
// (hiresSmp, hiresSteps), each doubled for a second-order sampler. An
// integer switch point then counts from the start of the first pass and a
// fraction from 1.0, so [a:b:1.5] switches half-way through the second
// pass, and [a:b:25] after 20 first-pass steps at its step 5.
func HiresSchedule(firstSmp sample.Sampler, firstSteps int, hiresSmp sample.Sampler, hiresSteps int) prompt.ScheduleOptions {
	return prompt.ScheduleOptions{Steps: ScheduleSteps(firstSmp, firstSteps), HiresSteps: ScheduleSteps(hiresSmp, hiresSteps)}
}

// buildSchedules is EncodeSchedulesWith with the text encoder as a
// function, which it calls once with every distinct text of the job (the
// positive parts' in order of first use, then the negative prompt's).
func buildSchedules(positive, negative string, o prompt.ScheduleOptions, encode func([]condText) ([]Cond, error)) (ImageConds, error) {
	// 1. Schedule every AND part and the negative prompt.
	parts := prompt.SplitAND(positive)
	if len(parts) == 0 { // cannot happen: SplitAND returns at least one part
		return ImageConds{}, fmt.Errorf("pipeline: encode prompt: no parts in %q", positive)
	}
	scheds := make([][]prompt.Scheduled, len(parts)+1) // the last is the negative prompt's
	for k := range scheds {
		text := negative
		if k < len(parts) {
			text = parts[k].Text
		}
		s, err := prompt.ScheduleWith(text, o)
		if err != nil {
			return ImageConds{}, fmt.Errorf("pipeline: encode prompt: %w", err)
		}
		scheds[k] = s
	}
	// 2. Encode the distinct texts (a negative text is distinct from the
	// same positive one: SDXL zeroes an empty negative).
	index := map[condText]int{}
	var texts []condText
	for k, s := range scheds {
		for _, e := range s {
			t := condText{e.Prompt, k == len(parts)}
			if _, ok := index[t]; !ok {
				index[t] = len(texts)
				texts = append(texts, t)
			}
		}
	}
	conds, err := encode(texts)
	if err != nil {
		return ImageConds{}, err
	}
	// 3. Each schedule entry takes its text's conditioning.
	sched := func(k int) CondSchedule {
		out := make(CondSchedule, 0, len(scheds[k]))
		for _, e := range scheds[k] {
			out = append(out, ScheduledCond{EndStep: e.EndStep, Cond: conds[index[condText{e.Prompt, k == len(parts)}]]})
		}
		return out
	}
	var ic ImageConds
	for k, part := range parts {
		ic.Parts = append(ic.Parts, WeightedSchedule{Weight: part.Weight, Sched: sched(k)})
	}
	ic.Uncond = sched(len(parts))
	return ic, nil
}
