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
// distinct text is encoded once, so equal texts share their slices.
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
	return buildSchedules(positive, negative, o, func(text string, negative bool) (Cond, error) {
		return c.Encode(text, negative, size)
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

// buildSchedules is EncodeSchedulesWith with the text encoder as a function.
func buildSchedules(positive, negative string, o prompt.ScheduleOptions, encode func(text string, negative bool) (Cond, error)) (ImageConds, error) {
	var ic ImageConds
	seen := map[string]Cond{}
	for _, part := range prompt.SplitAND(positive) {
		s, err := encodeSchedule(part.Text, false, o, seen, encode)
		if err != nil {
			return ImageConds{}, err
		}
		ic.Parts = append(ic.Parts, WeightedSchedule{Weight: part.Weight, Sched: s})
	}
	if len(ic.Parts) == 0 { // cannot happen: SplitAND returns at least one part
		return ImageConds{}, fmt.Errorf("pipeline: encode prompt: no parts in %q", positive)
	}
	u, err := encodeSchedule(negative, true, o, map[string]Cond{}, encode)
	if err != nil {
		return ImageConds{}, err
	}
	ic.Uncond = u
	return ic, nil
}

func encodeSchedule(text string, negative bool, o prompt.ScheduleOptions, seen map[string]Cond, encode func(string, bool) (Cond, error)) (CondSchedule, error) {
	sched, err := prompt.ScheduleWith(text, o)
	if err != nil {
		return nil, fmt.Errorf("pipeline: encode prompt: %w", err)
	}
	out := make(CondSchedule, 0, len(sched))
	for _, e := range sched {
		cd, ok := seen[e.Prompt]
		if !ok {
			if cd, err = encode(e.Prompt, negative); err != nil {
				return nil, err
			}
			seen[e.Prompt] = cd
		}
		out = append(out, ScheduledCond{EndStep: e.EndStep, Cond: cd})
	}
	return out, nil
}
