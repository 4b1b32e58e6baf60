package prompt

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"testing"
)

// oracleRecord is one line of testdata/webui_oracle.jsonl: a prompt and what
// webui v1.10's prompt_parser.py / extra_networks.py (lark 1.1.5, the
// functions unchanged) returned for it. The prompts are random mixes of the
// syntax's characters, generated offline.
type oracleRecord struct {
	Prompt        string          `json:"prompt"`
	Steps         int             `json:"steps"`
	Hires         int             `json:"hires"`
	Old           bool            `json:"old"`
	Schedule      [][2]any        `json:"schedule"`
	Alternatives  [][][2]any      `json:"schedule_alternatives"`
	ScheduleError string          `json:"schedule_error"`
	Attention     [][2]any        `json:"attention"`
	AttentionErr  string          `json:"attention_error"`
	AND           [][2]any        `json:"and"`
	Networks      json.RawMessage `json:"networks"`
}

func oracleRecords(t *testing.T) []oracleRecord {
	t.Helper()
	path := os.Getenv("SDGO_PROMPT_ORACLE")
	if path == "" {
		path = "testdata/webui_oracle.jsonl"
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []oracleRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r oracleRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWebuiOracle compares every parser with webui's own output on random
// prompts.
func TestWebuiOracle(t *testing.T) {
	fails := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if fails++; fails <= 30 {
			t.Errorf(format, args...)
		}
	}
	for _, r := range oracleRecords(t) {
		if r.ScheduleError == "" {
			got, err := ScheduleWith(r.Prompt, ScheduleOptions{Steps: r.Steps, HiresSteps: r.Hires, OldScheduling: r.Old})
			alts := r.Alternatives
			if alts == nil {
				alts = [][][2]any{r.Schedule}
			}
			match := false
			var want []Scheduled
			for _, alt := range alts {
				want = make([]Scheduled, len(alt))
				for i, s := range alt {
					want[i] = Scheduled{int(s[0].(float64)), s[1].(string)}
				}
				match = match || reflect.DeepEqual(got, want)
			}
			if err != nil || !match {
				fail("Schedule(%q, steps %d hires %d old %v) =\n %v %v\nwant %v", r.Prompt, r.Steps, r.Hires, r.Old, got, err, want)
			}
		}
		if r.AttentionErr == "" {
			got := ParseAttention(r.Prompt)
			ok := len(got) == len(r.Attention)
			for i := 0; ok && i < len(got); i++ {
				ok = got[i].Text == r.Attention[i][0].(string) && math.Abs(got[i].Weight-r.Attention[i][1].(float64)) <= 1e-12
			}
			if !ok {
				fail("ParseAttention(%q) = %v\nwant %v", r.Prompt, got, r.Attention)
			}
		}
		gotAND := SplitAND(r.Prompt)
		ok := len(gotAND) == len(r.AND)
		for i := 0; ok && i < len(gotAND); i++ {
			ok = gotAND[i].Text == r.AND[i][0].(string) && gotAND[i].Weight == r.AND[i][1].(float64)
		}
		if !ok {
			fail("SplitAND(%q) = %v\nwant %v", r.Prompt, gotAND, r.AND)
		}
		var netsWant []json.RawMessage
		if err := json.Unmarshal(r.Networks, &netsWant); err != nil || len(netsWant) != 2 {
			t.Fatalf("bad networks record %s", r.Networks)
		}
		var restWant string
		var tags []struct {
			Kind       string            `json:"kind"`
			Positional []string          `json:"positional"`
			Named      map[string]string `json:"named"`
		}
		_ = json.Unmarshal(netsWant[0], &restWant)
		_ = json.Unmarshal(netsWant[1], &tags)
		rest, nets := ExtractNetworks(r.Prompt)
		ok = rest == restWant && len(nets) == len(tags)
		for i := 0; ok && i < len(nets); i++ {
			pos := append([]string{nets[i].Name}, nets[i].Args...)
			if len(tags[i].Positional) == 0 {
				pos = pos[1:]
			}
			named := nets[i].Named
			if named == nil {
				named = map[string]string{}
			}
			ok = nets[i].Kind == tags[i].Kind && reflect.DeepEqual(pos, append([]string{}, tags[i].Positional...)) && reflect.DeepEqual(named, tags[i].Named)
		}
		if !ok {
			fail("ExtractNetworks(%q) = %q %+v\nwant %s", r.Prompt, rest, nets, r.Networks)
		}
	}
	if fails > 0 {
		t.Errorf("%d mismatches", fails)
	}
}
