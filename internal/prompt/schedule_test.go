package prompt

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestScheduleFixtures(t *testing.T) {
	for _, c := range casesOf(t, "prompt_schedule") {
		t.Run(c.ID, func(t *testing.T) {
			var in struct {
				Prompt string
				Steps  int
			}
			var want struct{ Schedule [][2]any }
			decode(t, c.Inputs, &in)
			decode(t, c.Expected, &want)
			got, err := Schedule(in.Prompt, in.Steps)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want.Schedule) {
				t.Fatalf("Schedule(%q) = %v, want %v", in.Prompt, got, want.Schedule)
			}
			for i, w := range want.Schedule {
				if got[i].EndStep != int(w[0].(float64)) || got[i].Prompt != w[1].(string) {
					t.Errorf("Schedule(%q)[%d] = %v, want %v", in.Prompt, i, got[i], w)
				}
			}
		})
	}
}

func sched(pairs ...any) []Scheduled {
	var out []Scheduled
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Scheduled{pairs[i].(int), pairs[i+1].(string)})
	}
	return out
}

func TestScheduleWith(t *testing.T) {
	for _, tc := range []struct {
		prompt string
		o      ScheduleOptions
		want   []Scheduled
	}{
		// webui's doctests beyond the fixture cases; its doctest for
		// "a [{b|d{:.5] c" is stale: its grammar makes that prompt literal
		{"a [{b|d{:.5] c", ScheduleOptions{Steps: 10}, sched(10, "a [{b|d{:.5] c")},
		{"((a][:b:c [d:3]", ScheduleOptions{Steps: 10}, sched(3, "((a][:b:c ", 10, "((a][:b:c d")},
		{"[fe|]male", ScheduleOptions{Steps: 4}, sched(1, "female", 2, "male", 3, "female", 4, "male")},
		{"[fe|||]male", ScheduleOptions{Steps: 5}, sched(1, "female", 2, "male", 3, "male", 4, "male", 5, "female")},
		{"a [b:.5] c", ScheduleOptions{Steps: 10, HiresSteps: 10}, sched(10, "a b c")},
		{"a [b:1.5] c", ScheduleOptions{Steps: 10, HiresSteps: 10}, sched(5, "a  c", 10, "a b c")},
		{"a [b:15] c", ScheduleOptions{Steps: 10, HiresSteps: 10}, sched(5, "a  c", 10, "a b c")},
		// the decimal-point rule and the legacy rule
		{"[a:b:1.0]", ScheduleOptions{Steps: 10}, sched(10, "a")},
		{"[a:b:1]", ScheduleOptions{Steps: 10}, sched(1, "a", 10, "b")},
		{"[a:b:0.29]", ScheduleOptions{Steps: 100}, sched(28, "a", 100, "b")}, // float64 0.29*100 = 28.999...
		{"[a:b:1.0]", ScheduleOptions{Steps: 10, OldScheduling: true}, sched(1, "a", 10, "b")},
		{"[a:b:0.5]", ScheduleOptions{Steps: 10, OldScheduling: true}, sched(5, "a", 10, "b")},
		{"[a:b:3]", ScheduleOptions{Steps: 10, HiresSteps: 4, OldScheduling: true}, sched(3, "a", 10, "b")},
		// switch points below 1 or past the end
		{"[a:b:0]", ScheduleOptions{Steps: 10}, sched(10, "b")},
		{"[a:b:-3]", ScheduleOptions{Steps: 10}, sched(10, "b")},
		{"[a:b:99]", ScheduleOptions{Steps: 10}, sched(10, "a")},
		{"[a:b:1e999]", ScheduleOptions{Steps: 10}, sched(10, "a")},
		{"[a:b:1e1]", ScheduleOptions{Steps: 20}, sched(10, "a", 20, "b")},
		{"[a:b: 3 ]", ScheduleOptions{Steps: 10}, sched(3, "a", 10, "b")},
		{"[a::3]", ScheduleOptions{Steps: 10}, sched(3, "a", 10, "")},
		// not the grammar: the whole prompt is literal
		{"a | b [c:d:2]", ScheduleOptions{Steps: 10}, sched(10, "a | b [c:d:2]")},
		{"[c:d:2] trailing\\", ScheduleOptions{Steps: 10}, sched(10, "[c:d:2] trailing\\")},
		{"[c:d:2] \\\n", ScheduleOptions{Steps: 10}, sched(10, "[c:d:2] \\\n")},
		// escapes are plain text and stay escaped for ParseAttention
		{"\\[a:b:2\\] [c\\:d:2]", ScheduleOptions{Steps: 4}, sched(2, "\\[a:b:2\\] ", 4, "\\[a:b:2\\] c\\:d")},
		{"[a|b|c] (x:1.2)", ScheduleOptions{Steps: 3}, sched(1, "a (x:1.2)", 2, "b (x:1.2)", 3, "c (x:1.2)")},
		{"[a:b:c]", ScheduleOptions{Steps: 3}, sched(3, "[a:b:c]")},
		{"[a|b:2]", ScheduleOptions{Steps: 3}, sched(3, "[a|b:2]")},
		{"", ScheduleOptions{Steps: 3}, sched(3, "")},
	} {
		t.Run(fmt.Sprintf("%q/%+v", tc.prompt, tc.o), func(t *testing.T) {
			got, err := ScheduleWith(tc.prompt, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestScheduleErrors(t *testing.T) {
	if _, err := Schedule("a", 0); err == nil {
		t.Error("0 steps: no error")
	}
	deep := strings.Repeat("[", MaxNesting+5) + "a" + strings.Repeat("]", MaxNesting+5)
	if _, err := Schedule(deep, 10); !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep nesting: err = %v, want ErrTooDeep", err)
	}
	ok := strings.Repeat("[", MaxNesting-1) + "a:b:2" + strings.Repeat("]", MaxNesting-1)
	got, err := Schedule(ok, 10)
	if err != nil || len(got) != 2 {
		t.Errorf("nesting %d: %d entries, err %v", MaxNesting-1, len(got), err)
	}
}

// TestScheduleLinear checks that pathological prompts parse quickly (the
// parser memoizes every bracket position).
func TestScheduleLinear(t *testing.T) {
	for name, p := range map[string]string{
		"unclosed": strings.Repeat("[a ", 200) + strings.Repeat("x [b:2] ", 20000),
		"strays":   strings.Repeat("]:)(", 50000),
		"many":     strings.Repeat("[a:b:3] (c) [d|e] ", 20000),
		"almost":   strings.Repeat("[[a:1]:", 300) + strings.Repeat("x", 100000),
	} {
		got, err := Schedule(p, 20)
		if err != nil || len(got) == 0 || got[len(got)-1].EndStep != 20 {
			t.Errorf("%s: %d entries, err %v", name, len(got), err)
		}
	}
}

func TestAt(t *testing.T) {
	s := sched(3, "a", 10, "b")
	for step, want := range map[int]int{0: 0, 1: 0, 3: 0, 4: 1, 10: 1, 11: 0} {
		if got := At(s, step); got != want {
			t.Errorf("At(step %d) = %d, want %d", step, got, want)
		}
	}
}
