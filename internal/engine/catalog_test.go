package engine

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"model.safetensors", true},
		{"sub/model.safetensors", true},
		{"model.safetensors [7c4e1508e0]", true},
		{"..", false},
		{"../model.safetensors", false},
		{"sub/../../x", false},
		{"./x", false},
		{"/etc/passwd", false},
		{`..\x`, false},
		{`C:\models\x`, false},
		{"x\x00y", false},
		{"../x [abc]", false},
	} {
		err := CheckName(tt.name)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadName)) {
			t.Errorf("CheckName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestQueueOrderMatchesPop(t *testing.T) {
	var q queue
	jobs := map[string]*Job{}
	for _, s := range []string{"a1", "a2", "b1", "a3", "c1", "b2"} {
		j := &Job{id: s}
		jobs[s] = j
		q.push(j, s[:1])
	}
	if !q.remove(jobs["c1"], "c") || q.remove(jobs["c1"], "c") {
		t.Fatal("remove")
	}
	var want []string
	for _, j := range q.order() {
		want = append(want, j.id)
	}
	var got []string
	for j := q.pop(); j != nil; j = q.pop() {
		got = append(got, j.id)
	}
	if strings.Join(got, " ") != "a1 b1 a2 b2 a3" || strings.Join(want, " ") != strings.Join(got, " ") || q.len() != 0 {
		t.Errorf("pop order %v, order() said %v", got, want)
	}
}
