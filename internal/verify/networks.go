package verify

import (
	"encoding/json"
	"fmt"

	"sdgo/internal/fixture"
)

func init() {
	kinds["text_encoder"] = runTextEncoder
	kinds["unet"] = runUNet
	kinds["vae_decode"] = runVAEDecode
	kinds["vae_encode"] = runVAEEncode
	kinds["lora_unet"] = runUNet
	kinds["lora_text_encoder"] = runTextEncoder
}

// netInputs are the inputs shared by the network cases.
type netInputs struct {
	Model       string          `json:"model"`
	IDs         []int           `json:"ids"`
	Timestep    json.RawMessage `json:"timestep"` // a number, or one per batch row
	CFGScale    float64         `json:"cfg_scale"`
	LoraFile    string          `json:"lora_file"`
	Multiplier  float64         `json:"multiplier"`
	ScaleFactor float64         `json:"scale_factor"`
}

// variants lists the model loads a case is checked with: every model file
// of its folder (fp16 and fp32 safetensors, .ckpt) for the plain network
// cases, the default file for the others.
func (r *Runner) variants(c *fixture.Case, in netInputs, allFiles bool) []modelKey {
	base := modelKey{name: in.Model, lora: in.LoraFile, multiplier: in.Multiplier}
	if !allFiles || in.LoraFile != "" {
		return []modelKey{base}
	}
	var out []modelKey
	for _, f := range r.env.modelFiles(in.Model) {
		k := base
		k.file = f
		out = append(out, k)
	}
	if len(out) == 0 {
		out = append(out, base)
	}
	return out
}

func decodeNet(c *fixture.Case) (netInputs, error) {
	var in netInputs
	err := c.DecodeInputs(&in)
	if err == nil && in.Model == "" {
		err = fmt.Errorf("case has no inputs.model")
	}
	return in, err
}

func variantName(k modelKey) string {
	if k.file == "" {
		return ""
	}
	return k.file
}

func runTextEncoder(r *Runner, c *fixture.Case) []Result {
	in, err := decodeNet(c)
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	var out []Result
	for _, k := range r.variants(c, in, true) {
		res := r.newNetResult(c, variantName(k))
		m, err := r.env.model(k)
		if err != nil {
			out = append(out, errResult(c, res.Variant, err))
			continue
		}
		for role, name := range c.ExpectedTensors {
			skip := 1
			switch role {
			case "last_hidden_state":
			case "penultimate_final_ln":
				skip = 2
			default:
				res.Status = Unsupported
				res.Detail += " sdgo does not know the output role " + role
				continue
			}
			enc, err := m.EncodeTextLayer(0, [][]int{in.IDs}, skip, true)
			if err != nil {
				res = errResult(c, res.Variant, err)
				break
			}
			r.compareTensor(&res, role, name, enc.Hidden, r.tol(c, forwardOut))
		}
		out = append(out, res)
	}
	return out
}

// timesteps reads inputs.timestep (a number or a list) for a batch of b.
func (in netInputs) timesteps(b int) ([]float32, error) {
	var one float64
	if err := json.Unmarshal(in.Timestep, &one); err == nil {
		ts := make([]float32, b)
		for i := range ts {
			ts[i] = float32(one)
		}
		return ts, nil
	}
	var list []float32
	if err := json.Unmarshal(in.Timestep, &list); err != nil || len(list) != b {
		return nil, fmt.Errorf("inputs.timestep %s: want a number or %d numbers", in.Timestep, b)
	}
	return list, nil
}

// unetInputs gathers x, t, context (and y) of a UNet case. A CFG case
// (context_cond + context_uncond) becomes the batch [x, x] with contexts
// [cond, uncond].
func (r *Runner) unetInputs(c *fixture.Case, in netInputs) (x []float32, xShape []int, ts, ctx []float32, ctxShape []int, y []float32, err error) {
	if x, xShape, err = r.M.Tensor(c.InputTensors["x"]); err != nil {
		return
	}
	if name, ok := c.InputTensors["context"]; ok {
		ctx, ctxShape, err = r.M.Tensor(name)
	} else {
		var u []float32
		if ctx, ctxShape, err = r.M.Tensor(c.InputTensors["context_cond"]); err != nil {
			return
		}
		if u, _, err = r.M.Tensor(c.InputTensors["context_uncond"]); err != nil {
			return
		}
		ctx = append(append([]float32{}, ctx...), u...)
		ctxShape = []int{2 * ctxShape[0], ctxShape[1], ctxShape[2]}
		x = append(append([]float32{}, x...), x...)
		xShape = append([]int{2 * xShape[0]}, xShape[1:]...)
	}
	if err != nil {
		return
	}
	for _, role := range []string{"y", "vector", "adm", "added_cond"} { // SDXL's vector conditioning
		if name := c.InputTensors[role]; name != "" {
			if y, _, err = r.M.Tensor(name); err != nil {
				return
			}
			break
		}
	}
	ts, err = in.timesteps(xShape[0])
	return
}

func runUNet(r *Runner, c *fixture.Case) []Result {
	in, err := decodeNet(c)
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	x, xShape, ts, ctx, ctxShape, y, err := r.unetInputs(c, in)
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	var out []Result
	for _, k := range r.variants(c, in, c.Kind == "unet") {
		res := r.newNetResult(c, variantName(k))
		m, err := r.env.model(k)
		if err == nil {
			var eps []float32
			eps, err = m.RunUNet(x, xShape, ts, ctx, ctxShape, y)
			got := map[string][]float32{"eps": eps, "eps_batch": eps}
			if err == nil && xShape[0] == 2 && in.CFGScale != 0 {
				half := len(eps) / 2
				cfg := make([]float32, half)
				for i := range cfg {
					u := float64(eps[half+i])
					cfg[i] = float32(u + (float64(eps[i])-u)*in.CFGScale)
				}
				got["eps_cfg"] = cfg
			}
			for role, name := range c.ExpectedTensors {
				if err != nil {
					break
				}
				if v, ok := got[role]; ok {
					k := forwardOut
					if role == "eps_cfg" {
						k = guidedOut
						r.noteTol(&res, c, role, k)
					}
					r.compareTensor(&res, role, name, v, r.tol(c, k))
				} else {
					res.Status = Unsupported
					res.Detail += " sdgo does not know the output role " + role
				}
			}
		}
		if err != nil {
			res = errResult(c, res.Variant, err)
		}
		out = append(out, res)
	}
	return out
}

func runVAEDecode(r *Runner, c *fixture.Case) []Result {
	in, err := decodeNet(c)
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	z, shape, err := r.M.Tensor(c.InputTensors["latent"])
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	var out []Result
	for _, k := range r.variants(c, in, true) {
		for role, name := range c.ExpectedTensors {
			kk := k
			variant := variantName(k)
			if role == "image_vae_ft" {
				if k.file != "" && k.file != "model.safetensors" {
					continue // the VAE file replaces the VAE: one check is enough
				}
				kk.vae = in.Model + "/vae.safetensors"
				variant = "vae.safetensors"
			}
			res := r.newNetResult(c, variant)
			m, err := r.env.model(kk)
			if err == nil {
				var img []float32
				img, _, err = m.Decode(z, shape)
				if err == nil {
					r.compareTensor(&res, role, name, img, r.tol(c, forwardOut))
				}
			}
			if err != nil {
				res = errResult(c, variant, err)
			}
			res.Detail = role + " " + res.Detail
			out = append(out, res)
		}
	}
	return out
}

func runVAEEncode(r *Runner, c *fixture.Case) []Result {
	in, err := decodeNet(c)
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	img, shape, err := r.M.Tensor(c.InputTensors["image"])
	if err != nil {
		return []Result{errResult(c, "", err)}
	}
	var out []Result
	for _, k := range r.variants(c, in, true) {
		res := r.newNetResult(c, variantName(k))
		m, err := r.env.model(k)
		if err != nil {
			out = append(out, errResult(c, res.Variant, err))
			continue
		}
		mom, mshape, err := m.EncodeMoments(img, shape)
		if err != nil {
			out = append(out, errResult(c, res.Variant, err))
			continue
		}
		mean, logvar := splitMoments(mom, mshape)
		scaled := make([]float32, len(mean))
		for i, v := range mean {
			scaled[i] = float32(float64(v) * m.LatentScale)
		}
		got := map[string][]float32{"moments": mom, "mean": mean, "logvar_clamped": logvar, "latent_scaled": scaled}
		for role, name := range c.ExpectedTensors {
			v, ok := got[role]
			if !ok {
				res.Status = Unsupported
				res.Detail += " sdgo does not know the output role " + role
				continue
			}
			r.compareTensor(&res, role, name, v, r.tol(c, forwardOut))
		}
		out = append(out, res)
	}
	return out
}

// splitMoments splits VAE moments [B, 2z, h, w] into the mean and the
// log-variance clamped to [-30, 20].
func splitMoments(mom []float32, shape []int) (mean, logvar []float32) {
	b, c2 := shape[0], shape[1]
	hw := shape[2] * shape[3]
	z := c2 / 2
	for i := 0; i < b; i++ {
		base := i * c2 * hw
		mean = append(mean, mom[base:base+z*hw]...)
		for _, v := range mom[base+z*hw : base+c2*hw] {
			logvar = append(logvar, min(max(v, -30), 20))
		}
	}
	return mean, logvar
}
