package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"sdgo/internal/checkpoint"
	"sdgo/internal/clip"
	"sdgo/internal/safetensors"
	"sdgo/internal/unet"
	"sdgo/internal/vae"
)

func init() {
	register("inspect", "describe a checkpoint: family, prediction, components, architecture, hashes", runInspect)
}

// inspectReport is what `sdgo inspect` prints; --json writes it as is.
type inspectReport struct {
	Path             string            `json:"path"`
	Format           string            `json:"format"` // "safetensors", "pytorch-zip" or "diffusers"
	FileSize         int64             `json:"file_size"`
	Family           string            `json:"family"`
	Prediction       string            `json:"prediction"`
	PredictionSource string            `json:"prediction_source"`
	ZeroTerminalSNR  bool              `json:"zero_terminal_snr"`
	Inpainting       bool              `json:"inpainting"`
	InChannels       int               `json:"unet_in_channels"`
	LatentScale      float64           `json:"latent_scale"`
	Hash             string            `json:"hash,omitempty"`        // webui model hash, 10 hex
	LegacyHash       string            `json:"legacy_hash,omitempty"` // webui's old hash, 8 hex
	Tensors          int               `json:"tensors"`
	Parameters       int64             `json:"parameters"` // float elements of the networks (not of "other")
	Components       []componentReport `json:"components"`
	UNet             *unetReport       `json:"unet,omitempty"`
	VAE              *vaeReport        `json:"vae,omitempty"`
	Text             []textReport      `json:"text_encoders,omitempty"`
	Problems         []string          `json:"problems,omitempty"` // configs that could not be read
}

// componentReport is one network of the checkpoint (or "other": tensors
// outside every network, such as the schedule buffers).
type componentReport struct {
	Name       string         `json:"name"`
	Prefix     string         `json:"prefix,omitempty"`
	Layout     string         `json:"layout,omitempty"`
	Tensors    int            `json:"tensors"`
	Parameters int64          `json:"parameters"`
	DTypes     map[string]int `json:"dtypes"` // dtype -> tensor count
	Names      []string       `json:"names,omitempty"`
}

type unetReport struct {
	InChannels       int    `json:"in_channels"`
	OutChannels      int    `json:"out_channels"`
	ModelChannels    int    `json:"model_channels"`
	ChannelMult      []int  `json:"channel_mult"`
	NumResBlocks     int    `json:"num_res_blocks"`
	TransformerDepth []int  `json:"transformer_depth"`
	MiddleDepth      int    `json:"middle_depth"`
	ContextDim       int    `json:"context_dim"`
	LinearProj       bool   `json:"use_linear_in_transformer"`
	NumHeads         int    `json:"num_heads,omitempty"`
	NumHeadChannels  int    `json:"num_head_channels,omitempty"`
	TimeEmbedDim     int    `json:"time_embed_dim"`
	ADMInChannels    int    `json:"adm_in_channels,omitempty"`
	Summary          string `json:"summary"`
}

type vaeReport struct {
	Ch           int    `json:"ch"`
	ChMult       []int  `json:"ch_mult"`
	NumResBlocks int    `json:"num_res_blocks"`
	ZChannels    int    `json:"z_channels"`
	EmbedDim     int    `json:"embed_dim"`
	DoubleZ      bool   `json:"double_z"`
	MidAttention bool   `json:"mid_attention"`
	Summary      string `json:"summary"`
}

type textReport struct {
	Component string `json:"component"`
	Prefix    string `json:"prefix"`
	Layout    string `json:"layout"`
	Width     int    `json:"width"`
	Layers    int    `json:"layers"`
	Heads     int    `json:"heads"` // not in shapes: the default width/64
	MLP       int    `json:"mlp"`
	Vocab     int    `json:"vocab"`
	Positions int    `json:"positions"`
	Act       string `json:"act"` // not in shapes: the layout's default
	ProjDim   int    `json:"projection_dim,omitempty"`
	Summary   string `json:"summary"`
}

func runInspect(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("inspect", e)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	noHash := fs.Bool("no-hash", false, "skip the model hash (it reads the whole file once; later runs use the hash cache)")
	fs.Usage = func() {
		fmt.Fprintln(e.Stderr, "usage: sdgo inspect [--json] [--no-hash] MODEL\n\nMODEL is a .safetensors or .ckpt checkpoint or a diffusers folder.")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usagef("name a checkpoint to inspect, e.g. sdgo inspect ../shared/fixtures/tiny-sd1/model.safetensors")
	case len(pos) > 1:
		return usagef("inspect takes one model, got %d: %s", len(pos), strings.Join(pos, " "))
	}
	r, err := inspect(pos[0], !*noHash)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return r.write(e.Stdout)
}

// parseInterspersed parses flags that may come before or after the
// positional arguments (flag.Parse alone stops at the first positional).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// inspect opens path with the checkpoint reader only (no backend, no
// weights read beyond the header) and describes it.
func inspect(path string, hash bool) (*inspectReport, error) {
	ck, err := checkpoint.Open(path)
	if err != nil {
		if errors.Is(err, checkpoint.ErrUnknownModel) {
			return nil, fmt.Errorf("%w\nhint: inspect describes Stable Diffusion checkpoints (a .safetensors or .ckpt file, or a diffusers folder); a LoRA goes in a prompt as <lora:name:weight>, a VAE file with txt2img --vae FILE", err)
		}
		return nil, err
	}
	defer ck.Close()
	md := ck.Model()
	r := &inspectReport{
		Path:             path,
		Family:           string(md.Family),
		Prediction:       string(md.Prediction),
		PredictionSource: md.PredictionSource,
		ZeroTerminalSNR:  md.ZeroTerminalSNR,
		Inpainting:       md.Inpainting,
		InChannels:       md.InChannels,
		LatentScale:      float32To64(md.LatentScale()),
	}
	if abs, err := filepath.Abs(path); err == nil {
		r.Path = abs
	}
	if r.Format, r.FileSize, err = fileFormat(path); err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	if hash {
		if r.Hash, err = ck.Hash(); err != nil {
			return nil, err
		}
		if r.Format != "diffusers" {
			if r.LegacyHash, err = ck.LegacyHash(); err != nil {
				return nil, err
			}
		}
	}
	shapes := r.tally(ck)
	r.describeConfigs(shapes, md.Components)
	return r, nil
}

// tally fills the component table and the totals, and returns every
// tensor's shape for the config detectors.
func (r *inspectReport) tally(ck *checkpoint.Checkpoint) map[string][]int {
	comps := ck.Components()
	// Longest prefix first, so a nested prefix wins over its parent.
	order := make([]int, len(comps))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(comps[order[a]].Prefix) > len(comps[order[b]].Prefix) })
	r.Components = make([]componentReport, len(comps)+1)
	for i, c := range comps {
		r.Components[i] = componentReport{Name: string(c.Component), Prefix: c.Prefix, Layout: c.Layout, DTypes: map[string]int{}}
	}
	other := &r.Components[len(comps)]
	*other = componentReport{Name: "other", DTypes: map[string]int{}}
	shapes := map[string][]int{}
	for _, n := range ck.Names() {
		ti, ok := ck.Info(n)
		if !ok {
			continue
		}
		shapes[n] = ti.Shape
		cr := other
		for _, i := range order {
			if strings.HasPrefix(n, comps[i].Prefix) {
				cr = &r.Components[i]
				break
			}
		}
		cr.Tensors++
		cr.DTypes[ti.DType]++
		if safetensors.DType(ti.DType).IsFloat() {
			cr.Parameters += int64(ti.NumElements())
		}
		if cr == other {
			cr.Names = append(cr.Names, n)
		}
		r.Tensors++
	}
	for _, c := range r.Components[:len(comps)] {
		r.Parameters += c.Parameters
	}
	if other.Tensors == 0 {
		r.Components = r.Components[:len(comps)]
	}
	return shapes
}

// describeConfigs reads the UNet, VAE and text-encoder configs from the
// shapes, as model.Load does, recording failures as problems.
func (r *inspectReport) describeConfigs(shapes map[string][]int, comps []checkpoint.ComponentInfo) {
	if c, err := unet.DetectConfig(shapes, checkpoint.PrefixUNet); err != nil {
		r.Problems = append(r.Problems, err.Error())
	} else {
		r.UNet = newUNetReport(c)
	}
	if c, err := vae.DetectConfig(shapes, checkpoint.PrefixVAE); err != nil {
		r.Problems = append(r.Problems, err.Error())
	} else {
		r.VAE = newVAEReport(c)
	}
	for _, ci := range comps {
		if ci.Component != checkpoint.TextEncoder && ci.Component != checkpoint.TextEncoder2 {
			continue
		}
		prefix := ci.Prefix
		if ci.Layout == checkpoint.LayoutHFCLIP {
			prefix += "text_model."
		}
		c, err := clip.DetectConfig(shapes, prefix)
		if err != nil {
			r.Problems = append(r.Problems, err.Error())
			continue
		}
		r.Text = append(r.Text, newTextReport(string(ci.Component), prefix, c))
	}
}

func newUNetReport(c unet.Config) *unetReport {
	u := &unetReport{
		InChannels: c.InChannels, OutChannels: c.OutChannels, ModelChannels: c.ModelChannels,
		ChannelMult: c.ChannelMult, NumResBlocks: c.NumResBlocks, TransformerDepth: c.TransformerDepth,
		MiddleDepth: c.MiddleDepth, ContextDim: c.ContextDim, LinearProj: c.UseLinearProj,
		NumHeads: c.NumHeads, NumHeadChannels: c.NumHeadChannels, TimeEmbedDim: c.TimeEmbedDim,
		ADMInChannels: c.ADMInChannels,
	}
	proj := "1x1-conv projections"
	if c.UseLinearProj {
		proj = "linear projections"
	}
	heads := fmt.Sprintf("%d heads", c.NumHeads)
	if c.NumHeadChannels > 0 {
		heads = fmt.Sprintf("%d-channel heads", c.NumHeadChannels)
	}
	u.Summary = fmt.Sprintf("%d -> %d channels; %d x %s channels, %d res blocks per level; attention depth %s, middle %d; context %d; %s; %s (not in shapes: family default); time embedding %d",
		c.InChannels, c.OutChannels, c.ModelChannels, ints(c.ChannelMult), c.NumResBlocks, ints(c.TransformerDepth), c.MiddleDepth,
		c.ContextDim, proj, heads, c.TimeEmbedDim)
	if c.ADMInChannels > 0 {
		u.Summary += fmt.Sprintf("; vector conditioning %d", c.ADMInChannels)
	}
	return u
}

func newVAEReport(c vae.Config) *vaeReport {
	v := &vaeReport{Ch: c.Ch, ChMult: c.ChMult, NumResBlocks: c.NumResBlocks, ZChannels: c.ZChannels,
		EmbedDim: c.EmbedDim, DoubleZ: c.DoubleZ, MidAttention: c.MidAttention}
	attn := "no mid attention"
	if c.MidAttention {
		attn = "mid attention"
	}
	v.Summary = fmt.Sprintf("%d x %s channels, %d res blocks per level; latent %d channels (embed %d); %s",
		c.Ch, ints(c.ChMult), c.NumResBlocks, c.ZChannels, c.EmbedDim, attn)
	return v
}

func newTextReport(comp, prefix string, c clip.Config) textReport {
	t := textReport{Component: comp, Prefix: prefix, Layout: c.Layout.String(), Width: c.Width, Layers: c.Layers,
		Heads: c.Heads, MLP: c.MLP, Vocab: c.Vocab, Positions: c.Positions, Act: c.Act.String(), ProjDim: c.ProjDim}
	proj := "no projection"
	if c.ProjDim > 0 {
		proj = fmt.Sprintf("projection %d", c.ProjDim)
	}
	t.Summary = fmt.Sprintf("%s layout, width %d, %d layers, MLP %d, vocab %d, %d positions, %s; %d attention heads and %s (not in shapes: defaults)",
		t.Layout, c.Width, c.Layers, c.MLP, c.Vocab, c.Positions, proj, c.Heads, t.Act)
	return t
}

// write prints the report for people.
func (r *inspectReport) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "file\t%s (%s, %s)\n", r.Path, sizeText(r.FileSize), r.Format)
	fmt.Fprintf(tw, "family\t%s\n", r.Family)
	fmt.Fprintf(tw, "prediction\t%s (decided from: %s)\n", r.Prediction, predictionSourceText(r.PredictionSource))
	if r.ZeroTerminalSNR {
		fmt.Fprintf(tw, "zero terminal SNR\tyes (ztsnr marker)\n")
	}
	fmt.Fprintf(tw, "inpainting\t%s (UNet input channels %d)\n", yesNo(r.Inpainting), r.InChannels)
	fmt.Fprintf(tw, "latent scale\t%s\n", strconv.FormatFloat(r.LatentScale, 'g', -1, 64))
	switch {
	case r.Hash == "":
		fmt.Fprintf(tw, "model hash\t(skipped)\n")
	case r.LegacyHash == "":
		fmt.Fprintf(tw, "model hash\t%s\n", r.Hash)
	default:
		fmt.Fprintf(tw, "model hash\t%s (legacy %s)\n", r.Hash, r.LegacyHash)
	}
	fmt.Fprintf(tw, "tensors\t%d, %s network parameters\n", r.Tensors, thousands(r.Parameters))
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "component\tprefix\tlayout\ttensors\tparameters\tdtypes")
	for _, c := range r.Components {
		prefix := c.Prefix
		if c.Name == "other" {
			prefix = strings.Join(first(c.Names, 4), ", ")
			if len(c.Names) > 4 {
				prefix += fmt.Sprintf(", ... (%d more)", len(c.Names)-4)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", c.Name, prefix, c.Layout, c.Tensors, thousands(c.Parameters), dtypeText(c.DTypes))
	}
	fmt.Fprintln(tw)
	if r.UNet != nil {
		fmt.Fprintf(tw, "unet\t%s\n", r.UNet.Summary)
	}
	if r.VAE != nil {
		fmt.Fprintf(tw, "vae\t%s\n", r.VAE.Summary)
	}
	for _, t := range r.Text {
		fmt.Fprintf(tw, "%s\t%s\n", t.Component, t.Summary)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(tw, "problem\t%s\n", p)
	}
	return tw.Flush()
}

// fileFormat names the container of path and its size in bytes (for a
// folder, the sum of its files).
func fileFormat(path string) (string, int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", 0, err
	}
	if st.IsDir() {
		var total int64
		err := filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
			return nil
		})
		return "diffusers", total, err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err == nil && string(magic) == "PK\x03\x04" {
		return "pytorch-zip", st.Size(), nil
	}
	return "safetensors", st.Size(), nil
}

func predictionSourceText(s string) string {
	switch s {
	case checkpoint.FromKey:
		return "the v_pred marker tensor"
	case checkpoint.FromFileName:
		return "the file name"
	case checkpoint.FromOption:
		return "the --prediction option"
	case checkpoint.FromDefault:
		return "default, nothing in the file says otherwise; override with --prediction v"
	}
	return s
}

// float32To64 gives the float64 with the float32's shortest decimal form
// (0.18215, not 0.18214999139308929).
func float32To64(f float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return v
}

func ints(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return "(" + strings.Join(s, ",") + ")"
}

func dtypeText(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { return m[keys[a]] > m[keys[b]] || m[keys[a]] == m[keys[b]] && keys[a] < keys[b] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s x%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// thousands writes n with comma separators (6,556,043).
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n), ""
	for _, u = range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= unit
		if v < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s, %s bytes", v, u, thousands(n))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
