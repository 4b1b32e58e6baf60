package sample

import "testing"

func TestImg2ImgSteps(t *testing.T) {
	tests := []struct {
		steps       int
		denoise     float64
		fix         bool
		total, tEnc int
	}{
		{20, 0.75, false, 20, 15}, // int(0.75*20)
		{20, 1, false, 20, 19},    // denoise capped at 0.999: int(19.98)
		{20, 0.5, true, 40, 19},   // int(20/0.5)
		{20, 0.3, true, 66, 19},   // int(66.67)
		{10, 0.33, false, 10, 3},
	}
	for _, tt := range tests {
		total, tEnc := Img2ImgSteps(tt.steps, tt.denoise, tt.fix)
		if total != tt.total || tEnc != tt.tEnc {
			t.Errorf("Img2ImgSteps(%d, %v, %v) = %d, %d; want %d, %d", tt.steps, tt.denoise, tt.fix, total, tEnc, tt.total, tt.tEnc)
		}
	}
	// 20 steps at 0.75: the last 16 steps (17 sigmas) of the 20-step schedule.
	sig := Karras(20, ScheduleParams{})
	tail, err := Img2ImgTail(sig, 20, 15)
	if err != nil {
		t.Fatal(err)
	}
	if len(tail) != 17 || tail[0] != sig[4] || tail[16] != 0 {
		t.Errorf("tail of %d sigmas starting %v", len(tail), tail[0])
	}
	if _, err := Img2ImgTail(sig, 20, 25); err == nil {
		t.Error("t_enc beyond the schedule accepted")
	}
}
