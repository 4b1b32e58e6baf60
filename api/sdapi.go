package api

import (
	"encoding/json"
	"fmt"
)

// GenerationParams are the request fields txt2img and img2img share
// (webui's StableDiffusionProcessing plus the API's extras), with webui's
// field names. Pointer fields are webui's nullable ones (nil = null = "the
// setting").
type GenerationParams struct {
	Prompt          string   `json:"prompt"`
	NegativePrompt  string   `json:"negative_prompt"`
	Styles          []string `json:"styles"`
	Seed            int64    `json:"seed"`
	Subseed         int64    `json:"subseed"`
	SubseedStrength float64  `json:"subseed_strength"`
	SeedResizeFromH int      `json:"seed_resize_from_h"`
	SeedResizeFromW int      `json:"seed_resize_from_w"`
	SamplerName     string   `json:"sampler_name"`
	SamplerIndex    string   `json:"sampler_index"`
	Scheduler       string   `json:"scheduler"`
	BatchSize       int      `json:"batch_size"`
	NIter           int      `json:"n_iter"`
	Steps           int      `json:"steps"`
	CFGScale        float64  `json:"cfg_scale"`
	Width           int      `json:"width"`
	Height          int      `json:"height"`
	RestoreFaces    *bool    `json:"restore_faces"`
	Tiling          *bool    `json:"tiling"`
	DoNotSaveSamp   bool     `json:"do_not_save_samples"`
	DoNotSaveGrid   bool     `json:"do_not_save_grid"`
	Eta             *float64 `json:"eta"`
	SMinUncond      *float64 `json:"s_min_uncond"`
	SChurn          *float64 `json:"s_churn"`
	STmax           *float64 `json:"s_tmax"`
	STmin           *float64 `json:"s_tmin"`
	SNoise          *float64 `json:"s_noise"`
	// OverrideSettings applies settings to this job only (unless
	// OverrideSettingsRestoreAfterwards is false): sd_model_checkpoint,
	// sd_vae, CLIP_stop_at_last_layers, eta_noise_seed_delta, randn_source.
	OverrideSettings                  map[string]any `json:"override_settings"`
	OverrideSettingsRestoreAfterwards bool           `json:"override_settings_restore_afterwards"`
	RefinerCheckpoint                 *string        `json:"refiner_checkpoint"`
	RefinerSwitchAt                   *float64       `json:"refiner_switch_at"`
	DisableExtraNetworks              bool           `json:"disable_extra_networks"`
	FirstpassImage                    *string        `json:"firstpass_image"`
	Comments                          map[string]any `json:"comments"`
	ForceTaskID                       *string        `json:"force_task_id"`

	ScriptName      *string        `json:"script_name"`
	ScriptArgs      []any          `json:"script_args"`
	AlwaysonScripts map[string]any `json:"alwayson_scripts"`
	SendImages      bool           `json:"send_images"`
	SaveImages      bool           `json:"save_images"`
	Infotext        *string        `json:"infotext"`
}

// defaultGeneration holds webui's defaults: seed -1, 50 steps of "Euler",
// CFG 7, 512x512, one image, images sent back and not saved.
func defaultGeneration() GenerationParams {
	return GenerationParams{
		Seed: -1, Subseed: -1, SeedResizeFromH: -1, SeedResizeFromW: -1,
		SamplerIndex: "Euler", BatchSize: 1, NIter: 1, Steps: 50, CFGScale: 7,
		Width: 512, Height: 512, OverrideSettingsRestoreAfterwards: true,
		ScriptArgs: []any{}, AlwaysonScripts: map[string]any{}, SendImages: true,
	}
}

// Txt2ImgRequest is the body of POST /sdapi/v1/txt2img and POST
// /api/v1/jobs. NewTxt2ImgRequest fills webui's defaults; decoding JSON
// over it keeps the defaults of absent fields.
type Txt2ImgRequest struct {
	GenerationParams
	EnableHR          bool     `json:"enable_hr"`
	DenoisingStrength *float64 `json:"denoising_strength"`
	FirstphaseWidth   int      `json:"firstphase_width"`
	FirstphaseHeight  int      `json:"firstphase_height"`
	HRScale           float64  `json:"hr_scale"`
	HRUpscaler        *string  `json:"hr_upscaler"`
	HRSecondPassSteps int      `json:"hr_second_pass_steps"`
	HRResizeX         int      `json:"hr_resize_x"`
	HRResizeY         int      `json:"hr_resize_y"`
	HRCheckpointName  *string  `json:"hr_checkpoint_name"`
	HRSamplerName     *string  `json:"hr_sampler_name"`
	HRScheduler       *string  `json:"hr_scheduler"`
	HRPrompt          string   `json:"hr_prompt"`
	HRNegativePrompt  string   `json:"hr_negative_prompt"`
}

// NewTxt2ImgRequest returns a request holding webui's defaults.
func NewTxt2ImgRequest() Txt2ImgRequest {
	return Txt2ImgRequest{GenerationParams: defaultGeneration(), HRScale: 2}
}

// Img2ImgRequest is the body of POST /sdapi/v1/img2img (and of POST
// /api/v1/jobs when it has init_images): the shared fields plus webui's
// img2img and inpainting fields. NewImg2ImgRequest fills the defaults.
type Img2ImgRequest struct {
	GenerationParams
	InitImages             []string `json:"init_images"` // base64 images (data: URLs allowed)
	ResizeMode             int      `json:"resize_mode"` // 0 just resize, 1 crop and resize, 2 resize and fill, 3 latent upscale
	DenoisingStrength      float64  `json:"denoising_strength"`
	ImageCFGScale          *float64 `json:"image_cfg_scale"`
	Mask                   *string  `json:"mask"` // base64; white = repaint
	MaskBlurX              int      `json:"mask_blur_x"`
	MaskBlurY              int      `json:"mask_blur_y"`
	MaskBlur               *int     `json:"mask_blur"` // sets both
	MaskRound              bool     `json:"mask_round"`
	InpaintingFill         int      `json:"inpainting_fill"` // 0 fill, 1 original, 2 latent noise, 3 latent nothing
	InpaintFullRes         bool     `json:"inpaint_full_res"`
	InpaintFullResPadding  int      `json:"inpaint_full_res_padding"`
	InpaintingMaskInvert   int      `json:"inpainting_mask_invert"`
	InitialNoiseMultiplier *float64 `json:"initial_noise_multiplier"`
	LatentMask             *string  `json:"latent_mask"`
	IncludeInitImages      bool     `json:"include_init_images"`
}

// NewImg2ImgRequest returns a request holding webui's defaults
// (denoising strength 0.75, mask blur 4, "only masked" on).
func NewImg2ImgRequest() Img2ImgRequest {
	return Img2ImgRequest{GenerationParams: defaultGeneration(), DenoisingStrength: 0.75,
		MaskBlurX: 4, MaskBlurY: 4, MaskRound: true, InpaintFullRes: true}
}

// Img2ImgResponse is the same shape as Txt2ImgResponse.
type Img2ImgResponse = Txt2ImgResponse

// Txt2ImgResponse is webui's generation response: base64 PNGs, the request
// echoed with its defaults filled in, and Info as a JSON string.
type Txt2ImgResponse struct {
	Images     []string        `json:"images"`
	Parameters json.RawMessage `json:"parameters"`
	Info       string          `json:"info"`
}

// GenerationInfo is what Txt2ImgResponse.Info holds once decoded (webui's
// Processed.js()).
type GenerationInfo struct {
	Prompt                   string         `json:"prompt"`
	AllPrompts               []string       `json:"all_prompts"`
	NegativePrompt           string         `json:"negative_prompt"`
	AllNegativePrompts       []string       `json:"all_negative_prompts"`
	Seed                     int64          `json:"seed"`
	AllSeeds                 []int64        `json:"all_seeds"`
	Subseed                  int64          `json:"subseed"`
	AllSubseeds              []int64        `json:"all_subseeds"`
	SubseedStrength          float64        `json:"subseed_strength"`
	Width                    int            `json:"width"`
	Height                   int            `json:"height"`
	SamplerName              string         `json:"sampler_name"`
	CFGScale                 float64        `json:"cfg_scale"`
	Steps                    int            `json:"steps"`
	BatchSize                int            `json:"batch_size"`
	RestoreFaces             bool           `json:"restore_faces"`
	FaceRestorationModel     *string        `json:"face_restoration_model"`
	SDModelName              string         `json:"sd_model_name"`
	SDModelHash              string         `json:"sd_model_hash"`
	SDVAEName                *string        `json:"sd_vae_name"`
	SDVAEHash                *string        `json:"sd_vae_hash"`
	SeedResizeFromW          int            `json:"seed_resize_from_w"`
	SeedResizeFromH          int            `json:"seed_resize_from_h"`
	DenoisingStrength        *float64       `json:"denoising_strength"`
	ExtraGenerationParams    map[string]any `json:"extra_generation_params"`
	IndexOfFirstImage        int            `json:"index_of_first_image"`
	Infotexts                []string       `json:"infotexts"`
	Styles                   []string       `json:"styles"`
	JobTimestamp             string         `json:"job_timestamp"`
	ClipSkip                 int            `json:"clip_skip"`
	IsUsingInpaintingConditn bool           `json:"is_using_inpainting_conditioning"`
	Version                  string         `json:"version"`
}

// Progress is GET /sdapi/v1/progress.
type Progress struct {
	Progress      float64 `json:"progress"`      // 0..1 over the current job
	ETARelative   float64 `json:"eta_relative"`  // seconds left
	State         State   `json:"state"`         // webui's shared.state
	CurrentImage  *string `json:"current_image"` // base64 PNG preview, or null
	TextInfo      *string `json:"textinfo"`
	CurrentTask   *string `json:"current_task"` // the running job's id
	QueuedJobs    int     `json:"queued_jobs"`  // sdgo: jobs waiting behind it
	CurrentJobURL *string `json:"current_job_url,omitempty"`
}

// State is webui's shared.state as the progress endpoint shows it.
type State struct {
	Skipped            bool   `json:"skipped"`
	Interrupted        bool   `json:"interrupted"`
	StoppingGeneration bool   `json:"stopping_generation"`
	Job                string `json:"job"`
	JobCount           int    `json:"job_count"`
	JobTimestamp       string `json:"job_timestamp"`
	JobNo              int    `json:"job_no"`
	SamplingStep       int    `json:"sampling_step"`
	SamplingSteps      int    `json:"sampling_steps"`
}

// Sampler is one entry of GET /sdapi/v1/samplers.
type Sampler struct {
	Name    string            `json:"name"`
	Aliases []string          `json:"aliases"`
	Options map[string]string `json:"options"`
}

// Scheduler is one entry of GET /sdapi/v1/schedulers.
type Scheduler struct {
	Name           string   `json:"name"`
	Label          string   `json:"label"`
	Aliases        []string `json:"aliases"`
	DefaultRho     float64  `json:"default_rho"`
	NeedInnerModel bool     `json:"need_inner_model"`
}

// SDModel is one entry of GET /sdapi/v1/sd-models. Hash and SHA256 are
// null until the file has been hashed (on first load), as in webui.
type SDModel struct {
	Title     string  `json:"title"`
	ModelName string  `json:"model_name"`
	Hash      *string `json:"hash"`
	SHA256    *string `json:"sha256"`
	Filename  string  `json:"filename"`
	Config    *string `json:"config"`
}

// SDVAE is one entry of GET /sdapi/v1/sd-vae.
type SDVAE struct {
	ModelName string `json:"model_name"`
	Filename  string `json:"filename"`
}

// LoRA is one entry of GET /sdapi/v1/loras.
type LoRA struct {
	Name     string         `json:"name"`
	Alias    string         `json:"alias"`
	Path     string         `json:"path"`
	Metadata map[string]any `json:"metadata"`
}

// PromptStyle is one entry of GET /sdapi/v1/prompt-styles.
type PromptStyle struct {
	Name           string `json:"name"`
	Prompt         string `json:"prompt"`
	NegativePrompt string `json:"negative_prompt"`
}

// PNGInfoRequest is the body of POST /sdapi/v1/png-info: a base64 image
// (a "data:image/png;base64," prefix is allowed).
type PNGInfoRequest struct {
	Image string `json:"image"`
}

// PNGInfoResponse holds an image's infotext, its text chunks and the
// infotext parsed into fields.
type PNGInfoResponse struct {
	Info       string            `json:"info"`
	Items      map[string]string `json:"items"`
	Parameters map[string]any    `json:"parameters"`
}

// Memory is GET /sdapi/v1/memory (sizes in bytes).
type Memory struct {
	RAM  map[string]any `json:"ram"`
	CUDA map[string]any `json:"cuda"`
}

// Error is the body of every error response: webui's {error, detail,
// body, errors} (error: the kind, detail: a message for people, errors:
// the underlying error text) plus, for validation errors (HTTP 422), each
// bad field in FastAPI's {loc, msg, type} shape.
type Error struct {
	Kind   string       `json:"error"`
	Detail string       `json:"detail"`
	Body   string       `json:"body"`
	Errors string       `json:"errors"`
	Fields []FieldError `json:"fields,omitempty"`
	Status int          `json:"-"` // the HTTP status it came with (client side)
}

// FieldError is one bad request field: Loc is ["body", "<field>"].
type FieldError struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Kind
	}
	if e.Status != 0 {
		return fmt.Sprintf("sdgo api: %d %s", e.Status, msg)
	}
	return "sdgo api: " + msg
}
