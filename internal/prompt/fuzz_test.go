package prompt

import (
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"", "normal text", "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
	"\\(literal\\]", "(a BREAK b:1.2)", "a [b:c:0.5] d", "a[b:[c:d:2]:1]e", "[fe|||]male",
	"((a][:b:c [d:3]", "[a|(b:1.1)]", "<lora:x:te=0.5:unet=0.3> a AND b:1.5", "\\", "a | b",
	"(a:١.٥)", "[[[[[[a:1]]]]]]", "(a:1.2.3)", "x BREAK\u00a0BREAK y",
}

func FuzzParseAttention(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		spans := ParseAttention(text)
		if len(spans) == 0 {
			t.Fatal("no spans")
		}
		for i := 1; i < len(spans); i++ {
			if spans[i].Weight == spans[i-1].Weight {
				t.Fatalf("unmerged neighbours %v", spans)
			}
		}
		if !strings.ContainsAny(text, `\()[]:`) && !strings.Contains(text, "BREAK") {
			if len(spans) != 1 || spans[0].Text != text || spans[0].Weight != 1 {
				t.Fatalf("plain text %q parsed as %v", text, spans)
			}
		}
	})
}

func FuzzSchedule(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, uint8(i*7), uint8(i%3))
	}
	f.Fuzz(func(t *testing.T, prompt string, steps, mode uint8) {
		o := ScheduleOptions{Steps: int(steps)%150 + 1}
		switch mode % 3 {
		case 1:
			o.HiresSteps = int(steps)%40 + 1
		case 2:
			o.OldScheduling = true
		}
		sched, err := ScheduleWith(prompt, o)
		if err != nil {
			if strings.Count(prompt, "[")+strings.Count(prompt, "(") <= MaxNesting {
				t.Fatalf("error without deep nesting: %v", err)
			}
			return
		}
		want := o.Steps
		if o.HiresSteps > 0 && !o.OldScheduling {
			want = o.HiresSteps
		}
		if len(sched) == 0 || sched[len(sched)-1].EndStep != want || sched[0].EndStep < 1 {
			t.Fatalf("schedule %v for %d steps", sched, want)
		}
		for i := 1; i < len(sched); i++ {
			if sched[i].EndStep <= sched[i-1].EndStep {
				t.Fatalf("end steps not increasing: %v", sched)
			}
		}
		if !strings.Contains(prompt, "[") && (len(sched) != 1 || sched[0].Prompt != prompt) {
			t.Fatalf("prompt without [ changed: %q -> %v", prompt, sched)
		}
		for _, s := range sched {
			if len(s.Prompt) > len(prompt) {
				t.Fatalf("scheduled text longer than the prompt: %q -> %q", prompt, s.Prompt)
			}
		}
	})
}

func FuzzSplitANDAndNetworks(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prompt string) {
		parts := SplitAND(prompt)
		if len(parts) != strings.Count(prompt, "AND")+1 && !strings.Contains(prompt, "AND") {
			t.Fatalf("no AND but %d parts", len(parts))
		}
		rest, nets := ExtractNetworks(prompt)
		if len(rest) > len(prompt) || (nets == nil && rest != prompt) {
			t.Fatalf("ExtractNetworks(%q) = %q", prompt, rest)
		}
		for _, n := range nets {
			_, _, _, _ = n.LoraMultipliers(1)
		}
	})
}
