package model

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the pure-Go "go" backend
	"github.com/gomlx/gomlx/backends/xla"        // PJRT plugins (CUDA)

	"sdgo/internal/xlacache"
)

// BackendEnv is the environment variable that chooses the backend when no
// --backend flag is given.
const BackendEnv = "SDGO_BACKEND"

// CUDAPlugin is a found PJRT CUDA plugin and the NVIDIA library folders that
// came with it (JAX's site-packages/nvidia/*/lib).
type CUDAPlugin struct {
	Path    string
	LibDirs []string
	Looked  []string // every place searched, for error messages
}

// pluginNames are the file names a CUDA PJRT plugin goes by.
var pluginNames = []string{"pjrt_c_api_cuda_plugin.so", "xla_cuda_plugin.so"}

// FindCUDAPlugin looks for the CUDA PJRT plugin: in the folders of
// PJRT_PLUGIN_LIBRARY_PATH, next to the running binary, then in an installed
// JAX (site-packages/jax_plugins/xla_cuda*/xla_cuda_plugin.so). It never
// downloads anything.
func FindCUDAPlugin() (*CUDAPlugin, error) {
	p := &CUDAPlugin{}
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv("PJRT_PLUGIN_LIBRARY_PATH")) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, d := range dirs {
		for _, n := range pluginNames {
			c := filepath.Join(d, n)
			p.Looked = append(p.Looked, c)
			if isFile(c) {
				p.Path = c
				p.LibDirs = nvidiaLibDirs(filepath.Dir(filepath.Dir(resolve(c))))
				return p, nil
			}
		}
	}
	for _, sp := range sitePackages() {
		pattern := filepath.Join(sp, "jax_plugins", "xla_cuda*", "xla_cuda_plugin.so")
		p.Looked = append(p.Looked, pattern)
		matches, _ := filepath.Glob(pattern)
		sort.Sort(sort.Reverse(sort.StringSlice(matches))) // newest CUDA first
		for _, m := range matches {
			p.Path = m
			p.LibDirs = nvidiaLibDirs(sp)
			return p, nil
		}
	}
	return p, fmt.Errorf("model: no CUDA PJRT plugin found; looked in:\n  %s\n"+
		"fix: install JAX with CUDA (pip install \"jax[cuda13]\") so that site-packages/jax_plugins/xla_cuda*/xla_cuda_plugin.so exists, "+
		"or set PJRT_PLUGIN_LIBRARY_PATH to the folder holding pjrt_c_api_cuda_plugin.so, "+
		"or pass --backend xla:/absolute/path/to/plugin.so", strings.Join(p.Looked, "\n  "))
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func resolve(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// nvidiaLibDirs lists site-packages/nvidia/*/lib folders.
func nvidiaLibDirs(sitePackages string) []string {
	m, _ := filepath.Glob(filepath.Join(sitePackages, "nvidia", "*", "lib"))
	sort.Strings(m)
	return m
}

// sitePackages lists the Python package folders where JAX may be installed.
func sitePackages() []string {
	var roots []string
	if v := os.Getenv("VIRTUAL_ENV"); v != "" {
		roots = append(roots, filepath.Join(v, "lib", "python3*", "site-packages"))
	}
	if v := os.Getenv("CONDA_PREFIX"); v != "" {
		roots = append(roots, filepath.Join(v, "lib", "python3*", "site-packages"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots,
			filepath.Join(home, ".local", "lib", "python3*", "site-packages"),
			filepath.Join(home, ".venv", "lib", "python3*", "site-packages"),
			filepath.Join(home, "*", ".venv", "lib", "python3*", "site-packages"))
	}
	roots = append(roots,
		"/opt/*/.venv/lib/python3*/site-packages",
		"/opt/*/lib/python3*/site-packages",
		"/opt/conda/lib/python3*/site-packages",
		"/usr/local/lib/python3*/site-packages",
		"/usr/local/lib/python3*/dist-packages",
		"/usr/lib/python3/dist-packages")
	var out []string
	seen := map[string]bool{}
	for _, r := range roots {
		m, _ := filepath.Glob(r)
		for _, d := range m {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out
}

// CUDAEnv returns the environment the CUDA plugin needs that the current
// process lacks: its NVIDIA library folders on LD_LIBRARY_PATH. The dynamic
// loader reads LD_LIBRARY_PATH only at process start, so a caller that gets a
// non-empty answer should re-execute itself with it (cmd/sdgo does).
func (p *CUDAPlugin) CUDAEnv() (key, value string, needed bool) {
	cur := os.Getenv("LD_LIBRARY_PATH")
	have := map[string]bool{}
	for _, d := range filepath.SplitList(cur) {
		have[d] = true
	}
	var add []string
	for _, d := range p.LibDirs {
		if !have[d] {
			add = append(add, d)
		}
	}
	if len(add) == 0 {
		return "", "", false
	}
	v := strings.Join(add, string(filepath.ListSeparator))
	if cur != "" {
		v += string(filepath.ListSeparator) + cur
	}
	return "LD_LIBRARY_PATH", v, true
}

// GoBackendConfig is the pure-Go backend's configuration. GoMLX v0.26.0's
// parallel op scheduler can deadlock on small machines (every worker slot
// held by an op whose matrix multiply waits for another slot; seen on 2
// cores), so ops run one after another; each matrix multiply still uses
// every core.
const GoBackendConfig = "go:ops_sequential"

// ResolveBackendSpec turns a user's backend choice ("", "go", "cuda",
// "xla:<plugin path or name>") into a GoMLX backend configuration string.
func ResolveBackendSpec(spec string) (string, error) {
	if spec == "" {
		spec = os.Getenv(BackendEnv)
	}
	switch {
	case spec == "" || spec == "go" || spec == "cpu":
		return GoBackendConfig, nil
	case strings.HasPrefix(spec, "go:"):
		return spec, nil
	case spec == "cuda" || spec == "gpu":
		p, err := FindCUDAPlugin()
		if err != nil {
			return "", err
		}
		return "xla:" + p.Path, nil
	case strings.HasPrefix(spec, "xla:"):
		return spec, nil
	}
	return "", fmt.Errorf("model: unknown backend %q: use go, cuda or xla:/path/to/pjrt_plugin.so", spec)
}

// OpenBackend opens the backend named by spec (see ResolveBackendSpec).
// Plugins are never downloaded.
func OpenBackend(spec string) (backends.Backend, error) { return openBackend(spec, 0) }

// openBackend is OpenBackend for a model that wants reserve bytes of GPU
// memory kept in XLA's allocator pool (see gpumem.go; 0 keeps XLA's
// allocator defaults).
func openBackend(spec string, reserve int64) (backends.Backend, error) {
	cfg, err := ResolveBackendSpec(spec)
	if err != nil {
		return nil, err
	}
	var card gpu
	var cardKnown bool
	plugin, isXLA := strings.CutPrefix(cfg, "xla:")
	cudaPlugin := isXLA && filepath.IsAbs(plugin) && strings.Contains(strings.ToLower(filepath.Base(plugin)), "cuda")
	if isXLA {
		xla.EnableAutoInstall(false)
		if cudaPlugin {
			card, cardKnown = queryGPU()
		}
		xlaCaches()
		xlaPasses()
		// go-xla points XLA_FLAGS at a folder of its author's machine when
		// its CUDA checks run; the plugin finds its libraries by itself.
		if os.Getenv("GOPJRT_CUDA_CHECKS") == "" {
			os.Setenv("GOPJRT_CUDA_CHECKS", "0")
		}
	}
	var b backends.Backend
	var openErr error
	err = catch(func() {
		if plugin, ok := strings.CutPrefix(cfg, "xla:"); ok && filepath.IsAbs(plugin) {
			// Never take most of the card up front (XLA's default), so sdgo
			// shares the GPU and its peak use is visible.
			opts := pjrt.NamedValuesMap{"preallocate": os.Getenv("SDGO_XLA_PREALLOCATE") == "1"}
			if cudaPlugin {
				opts = allocatorOptions(reserve, card, cardKnown)
			}
			b, openErr = xla.NewWithOptions(plugin, opts)
			return
		}
		b, openErr = backends.NewWithConfig(cfg)
	})
	if err == nil {
		err = openErr
	}
	if err == nil && b == nil {
		err = errors.New("no backend returned")
	}
	if err != nil {
		return nil, fmt.Errorf("model: open backend %q: %w", cfg, err)
	}
	if isXLA {
		device := ""
		if cardKnown {
			device = card.Name
		}
		executableCache(b, device)
	}
	return b, nil
}

// executableCache keeps the executables XLA compiles in the user's cache
// folder (package xlacache), so a later process loads its text encoder,
// UNet and VAE instead of compiling them. SDGO_XLA_CACHE=off disables it,
// as it does the autotune cache.
func executableCache(b backends.Backend, device string) {
	dir, ok := xlaCacheDir("xla-executables")
	if !ok {
		return
	}
	if ok, err := xlacache.Install(b, dir, device); err != nil {
		slog.Debug("XLA executables are not cached", "err", err)
	} else if ok {
		slog.Debug("XLA executables cached", "dir", dir)
	}
}

// catch runs fn and turns a panic (GoMLX reports graph errors that way) into
// an error. This package is the only place that recovers GoMLX panics.
func catch(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			switch e := r.(type) {
			case error:
				err = e
			default:
				err = fmt.Errorf("%v", e)
			}
		}
	}()
	fn()
	return nil
}

// FullFloat32 makes NVIDIA GPUs compute float32 matrix products and
// convolutions in full float32 instead of TF32 (XLA's default precision
// allows TF32, which costs about 1e-3 relative error): cuBLAS and cuDNN
// honour NVIDIA_TF32_OVERRIDE=0, and XLA's Triton GEMMs, which ignore it,
// are turned off. It must run before the backend is opened; sdgo calls it
// when the dtype is f32 on a GPU, where exactness is the point.
func FullFloat32() {
	if os.Getenv("NVIDIA_TF32_OVERRIDE") == "" {
		os.Setenv("NVIDIA_TF32_OVERRIDE", "0")
	}
	addXLAFlag("xla_gpu_enable_triton_gemm", "false")
}

// addXLAFlag appends --name=value to XLA_FLAGS unless it sets name
// already (the user's setting wins).
func addXLAFlag(name, value string) {
	if flags := os.Getenv("XLA_FLAGS"); !strings.Contains(flags, name) {
		os.Setenv("XLA_FLAGS", strings.TrimSpace(flags+" --"+name+"="+value))
	}
}

// xlaPasses turns off XLA's dot-merger pass: it merges the q, k and v
// projections of each attention block into one matrix product by
// concatenating their weights, and since weights are parameters it does
// so on every call (SDXL: 82 concatenations, 2.1 ms of a 32 ms UNet
// call). Without it (same H100 lease, alternating) SDXL 1024 txt2img took
// 801 / 806 ms against 886 / 846 ms; SD 1.5 changed within the noise. An
// XLA_FLAGS that disables passes itself wins.
func xlaPasses() { addXLAFlag("xla_disable_hlo_passes", "dot-merger") }

// xlaCaches keeps XLA's GPU autotuning results in the user's cache folder,
// so a second process skips most of the compile-time autotuning (SD1.5 on
// an H200: fresh process to first image 37.5 s -> 15.8 s; H100 29 s ->
// 9.6-11 s). An XLA_FLAGS that already sets the folder wins;
// SDGO_XLA_CACHE=off disables it. (XLA's kernel cache file,
// --xla_gpu_kernel_cache_file, is not used: shared by the text encoder,
// UNet and VAE modules of one process it made a second process fail with
// CUDA_ERROR_ILLEGAL_INSTRUCTION on an H100, as kernels of different
// modules share names.)
func xlaCaches() {
	if dir, ok := xlaCacheDir("xla-autotune"); ok {
		addXLAFlag("xla_gpu_per_fusion_autotune_cache_dir", dir)
	}
}

// xlaCacheDir makes the folder name in the user's cache folder for sdgo
// (~/.cache/sdgo/name) and returns it; false when SDGO_XLA_CACHE=off or
// it cannot be made.
func xlaCacheDir(name string) (string, bool) {
	if os.Getenv("SDGO_XLA_CACHE") == "off" {
		return "", false
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", false
	}
	dir = filepath.Join(dir, "sdgo", name)
	return dir, os.MkdirAll(dir, 0o755) == nil
}
