package imagefile

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestApplyPattern(t *testing.T) {
	now := time.Date(2024, 3, 9, 14, 5, 7, 0, time.UTC)
	n := NameInfo{Seed: 1234, Prompt: "a (red:1.2) cat, on a mat / sofa?", NegativePrompt: "ugly", Steps: 20, CFGScale: 7,
		Sampler: "Euler a", Scheduler: "SGM Uniform", ModelName: "v1-5 pruned", ModelHash: "6ce0161689", ClipSkip: 2,
		BatchSize: 2, BatchIndex: 1, Iteration: 1, Iterations: 3, AllSeeds: []int64{1231, 1232, 1233, 1234},
		Image: image.NewNRGBA(image.Rect(0, 0, 512, 768)), Now: now, JobTimestamp: now.Add(-time.Minute)}
	single := n
	single.BatchSize, single.Iterations = 1, 1
	tests := []struct {
		pattern string
		n       NameInfo
		want    string
	}{
		{"[seed]", n, "1234"},
		{"[SEED]-[steps]-[cfg]", n, "1234-20-7.0"},
		{"[width]x[height]", n, "512x768"},
		{"[sampler]_[scheduler]_[sampler_scheduler]", n, "Euler a_Sgm uniform_Euler a Sgm uniform"},
		{"[model_name]-[model_hash]", n, "v1-5 pruned-6ce0161689"},
		{"[prompt]", n, "a_(red_1.2)_cat,_on_a_mat___sofa_"},
		{"[prompt_spaces]", n, "a (red_1.2) cat, on a mat _ sofa_"},
		{"[prompt_words]", n, "a red 1 2 cat on a mat"},
		{"[prompt_words]", NameInfo{Prompt: " ,. "}, "empty"},
		{"[prompt_hash]-[prompt_hash<4>]", NameInfo{Prompt: "cat"}, "77af778b-77af"},
		{"[date] [datetime] [datetime<%Y_%m_%d %H-%M-%S>] [job_timestamp]", n, "2024-03-09 20240309140507 2024_03_09 14-05-07 20240309140407"},
		{"[datetime<%H:%M>]", n, "14_05"},
		{"[batch_number]-[generation_number]-[batch_size]", n, "2-4-2"},
		{"x[seed]-[batch_number]-[generation_number]", single, "x1234"},
		{"[seed_first]-[seed_last]", n, "1231-1234"},
		{"[seed_first]-[seed_last]", single, "1234"},
		{"[clip_skip]", n, "2"},
		{"s[denoising]", n, ""},
		{"[denoising]", NameInfo{Denoising: 0.75}, "0.75"},
		{"[hasprompt<cat><dog|nodog>]", n, "catnodog"},
		{"[styles]", n, "None"},
		{"[styles]", NameInfo{Styles: []string{"None", "a", "b"}}, "a, b"},
		{"[none]", n, ""},
		{"[basename]", n, "img"},
		{"[unknown]-[seed]-[x<y>]", n, "[unknown]-1234-[x]"},
		{"plain [text", n, "plain [text"},
	}
	for _, tc := range tests {
		t.Run(tc.pattern, func(t *testing.T) {
			if got := ApplyPattern(tc.pattern, tc.n); got != tc.want {
				t.Errorf("ApplyPattern(%q) = %q, want %q", tc.pattern, got, tc.want)
			}
		})
	}
}

func TestSanitizePart(t *testing.T) {
	tests := []struct {
		in     string
		spaces bool
		want   string
	}{
		{"a b", true, "a_b"},
		{"  lead", false, "lead"},
		{"  lead", true, "__lead"},
		{"tail. . ", false, "tail"},
		{`a#b<c>d:e"f/g\h|i?j*k` + "\nl\rm\tn", false, "a_b_c_d_e_f_g_h_i_j_k_l_m_n"},
		{strings.Repeat("猫", 200), false, strings.Repeat("猫", MaxPartLength)},
	}
	for _, tc := range tests {
		if got := SanitizePart(tc.in, tc.spaces); got != tc.want {
			t.Errorf("SanitizePart(%q, %v) = %q, want %q", tc.in, tc.spaces, got, tc.want)
		}
	}
}

func TestNextSequenceNumber(t *testing.T) {
	tests := []struct {
		name     string
		files    []string
		basename string
		want     int
	}{
		{"missing folder", nil, "", 0},
		{"images", []string{"00000-1.png", "00007-5.png", "00003-9.jpg", "notes.txt", "grid-0042.png"}, "", 8},
		{"bare number", []string{"00012.png"}, "", 13},
		{"grids", []string{"00000-1.png", "grid-0003.png", "grid-0001-x.png", "grid-abc.png"}, "grid", 4},
		{"no grids yet", []string{"00005-1.png"}, "grid", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			if tc.files != nil {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := NextSequenceNumber(dir, tc.basename); got != tc.want {
				t.Errorf("NextSequenceNumber = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestNumberedPath(t *testing.T) {
	dir := t.TempDir()
	for i, want := range []string{"00000-42.png", "00001-42.png"} {
		p, err := NumberedPath(dir, "", "-42", "png")
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(p) != want {
			t.Fatalf("call %d: %s, want %s", i, filepath.Base(p), want)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := NumberedPath(dir, "grid", "", "webp"); filepath.Base(p) != "grid-0000.webp" {
		t.Errorf("grid: %s", p)
	}
	// A taken name further on is skipped; separators in the decoration never make folders.
	if err := os.WriteFile(filepath.Join(dir, "00002-a_b.png"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x-00003.png"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, _ := NumberedPath(dir, "", "-a/b", "png"); filepath.Base(p) != "00003-a_b.png" {
		t.Errorf("got %s, want 00003-a_b.png", p)
	}
	long := "-" + strings.Repeat("é", 300)
	p, err := NumberedPath(dir, "", long, "png")
	if err != nil {
		t.Fatal(err)
	}
	if b := filepath.Base(p); len(b) > 255 || !strings.HasSuffix(b, "é.png") {
		t.Errorf("long name: %d bytes, %q", len(b), b[len(b)-10:])
	}
}

func TestStrftime(t *testing.T) {
	tm := time.Date(2023, 12, 31, 23, 4, 5, 678000000, time.UTC)
	got := Strftime(tm, "%Y-%y-%m-%d %H:%I:%M:%S.%f %p %j %a %A %b %B %z %Z %% %Q")
	want := "2023-23-12-31 23:11:04:05.678000 PM 365 Sun Sunday Dec December +0000 UTC % %Q"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
