package sample

import (
	"encoding/json"
	"math"
	"testing"

	"sdgo/internal/fixture"
)

func openFixtures(t testing.TB) *fixture.Manifest {
	t.Helper()
	dir, err := fixture.FindDir()
	if err != nil {
		t.Skip(err)
	}
	m, err := fixture.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// stack reads a [K, ...] tensor as K slices.
func stack(t testing.TB, m *fixture.Manifest, name string) [][]float32 {
	t.Helper()
	if name == "" {
		return nil
	}
	v, shape, err := m.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(shape) == 0 || shape[0] == 0 {
		return nil
	}
	per := len(v) / shape[0]
	out := make([][]float32, shape[0])
	for i := range out {
		out[i] = v[i*per : (i+1)*per]
	}
	return out
}

func tensor(t testing.TB, m *fixture.Manifest, name string) []float32 {
	t.Helper()
	v, _, err := m.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type samplerCase struct {
	Sampler       string             `json:"sampler"`
	Scheduler     string             `json:"scheduler"`
	Steps         int                `json:"steps"`
	Sigmas        []float64          `json:"sigmas"`
	Timesteps     []int              `json:"timesteps"`
	SamplerKwargs map[string]float64 `json:"sampler_kwargs"`
	Eta           float64            `json:"eta"`
}

type samplerExpected struct {
	NFE        int          `json:"nfe_cfg_calls"`
	NoiseUsed  int          `json:"noise_used"`
	NoiseCalls [][2]float64 `json:"noise_calls"`
	Info       struct {
		Steps   int `json:"steps"`
		NFE     int `json:"nfe"`
		Accept  int `json:"n_accept"`
		Reject  int `json:"n_reject"`
		Present bool
	} `json:"info"`
}

// replayInput builds the Replay input of a fixture sampler case and the
// tolerance its replay is checked with.
func replayInput(t *testing.T, m *fixture.Manifest, c *fixture.Case) (ReplayInput, fixture.Tolerance) {
	var in samplerCase
	if err := c.DecodeInputs(&in); err != nil {
		t.Fatal(err)
	}
	name := in.Sampler
	tol := c.Tolerance
	outputs := c.ExpectedTensors["model_calls_denoised"]
	sigmas := in.Sigmas
	if c.Kind == "sampler_diffusers" {
		name = in.Scheduler
		outputs = c.ExpectedTensors["model_calls_out"]
		sigmas = TimestepSigmas(DefaultTable(), in.Timesteps)
	} else {
		var rp struct {
			Tolerance fixture.Tolerance `json:"tolerance"`
		}
		if err := json.Unmarshal(c.Replay, &rp); err != nil {
			t.Fatal(err)
		}
		tol = rp.Tolerance
	}
	kwargs := in.SamplerKwargs
	if c.Kind == "sampler_diffusers" {
		kwargs = map[string]float64{"eta": in.Eta}
	}
	opt := FixtureOptions(name, in.Steps, kwargs)
	return ReplayInput{
		Sampler: name,
		Sigmas:  sigmas,
		Options: opt,
		X:       tensor(t, m, c.ExpectedTensors["x_T"]),
		Outputs: stack(t, m, outputs),
		Noise:   stack(t, m, c.InputTensors["noise_steps"]),
	}, tol
}

// TestReplay runs every fixture sampler case against its recorded model
// outputs and noise (fixtures README, "Sampler outputs, and how to test
// without error build-up"): the latents handed to the model and the final
// latent must match within the replay tolerance, and the call counts must
// match.
func TestReplay(t *testing.T) {
	m := openFixtures(t)
	cases := m.CasesOfKind("sampler_kdiffusion", "sampler_diffusers")
	if len(cases) == 0 {
		t.Fatal("no sampler cases")
	}
	for _, c := range cases {
		t.Run(c.ID, func(t *testing.T) {
			in, tol := replayInput(t, m, c)
			res, err := Replay(in)
			if err != nil {
				t.Fatal(err)
			}
			wantX := stack(t, m, c.ExpectedTensors["model_calls_x"])
			if len(res.Inputs) != len(wantX) {
				t.Fatalf("model calls = %d, want %d", len(res.Inputs), len(wantX))
			}
			worst := 0.0
			for i := range wantX {
				d, err := fixture.Compare(res.Inputs[i], wantX[i], tol)
				if err != nil {
					t.Fatal(err)
				}
				if !d.OK() {
					t.Errorf("model call %d input: max abs %.3g (ratio %.3g)", i, d.MaxAbs, d.MaxRatio)
				}
				worst = max(worst, d.MaxAbs)
			}
			d, err := fixture.Compare(res.X, tensor(t, m, c.ExpectedTensors["x_final"]), tol)
			if err != nil {
				t.Fatal(err)
			}
			if !d.OK() {
				t.Errorf("x_final: max abs %.3g (ratio %.3g), tolerance %+v", d.MaxAbs, d.MaxRatio, tol)
			}
			t.Logf("max abs: model inputs %.3g, x_final %.3g (atol %g)", worst, d.MaxAbs, tol.Atol)
			checkCounts(t, c, res)
		})
	}
}

func checkCounts(t *testing.T, c *fixture.Case, res ReplayResult) {
	if c.Kind != "sampler_kdiffusion" {
		return
	}
	var exp samplerExpected
	if err := c.DecodeExpected(&exp); err != nil {
		t.Fatal(err)
	}
	if res.Stats.NFE != exp.NFE {
		t.Errorf("nfe = %d, want %d", res.Stats.NFE, exp.NFE)
	}
	if len(res.NoiseCalls) != exp.NoiseUsed {
		t.Errorf("noise draws = %d, want %d", len(res.NoiseCalls), exp.NoiseUsed)
	}
	for i := range min(len(res.NoiseCalls), len(exp.NoiseCalls)) {
		for k := 0; k < 2; k++ {
			got, want := res.NoiseCalls[i][k], exp.NoiseCalls[i][k]
			if math.Abs(got-want) > 1e-5*math.Abs(want) {
				t.Errorf("noise call %d = %v, want %v", i, res.NoiseCalls[i], exp.NoiseCalls[i])
				break
			}
		}
	}
	if exp.Info.Steps != 0 {
		got := res.Stats
		if got.Steps != exp.Info.Steps || got.NFE != exp.Info.NFE || got.Accepted != exp.Info.Accept || got.Rejected != exp.Info.Reject {
			t.Errorf("info = %+v, want %+v", got, exp.Info)
		}
	}
}
