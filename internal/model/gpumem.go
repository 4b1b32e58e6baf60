package model

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomlx/go-xla/pkg/pjrt"

	"sdgo/internal/checkpoint"
)

// GPU memory.
//
// XLA's default GPU allocator (BFC) grows its pool in regions that double in
// size, so SD 1.5 at batch 1 held 4.7 GB of an H100 for ~2.3 GB of weights
// and activations, SDXL 17 GB for ~8 GB. With CUDA's stream-ordered
// allocator (cudaMallocAsync) the pool holds what is in use; XLA keeps up to
// its "reserve" in the pool between calls and returns the rest at each
// synchronisation, which costs time when the working set is larger. sdgo
// therefore uses cuda_async with a reserve of the model's weights plus
// headroom for activations (gpuReserve). Measured on an H100: SD 1.5 peaked
// at 3.1 GB (was 4.7) at the same speed with a reserve of weights + 512 MiB
// (now 320 MiB, see gpuReserve), SDXL at 8.7 GB (BFC: 8.7-17 GB).
// SDGO_XLA_ALLOCATOR picks another allocator (bfc, platform, cuda_async),
// SDGO_XLA_MEMORY_FRACTION sets the reserve as a fraction of the card,
// SDGO_XLA_PREALLOCATE=0/1 switches the preallocation.

// gpuReserve is the GPU memory worth keeping in the allocator's pool for a
// model run on batches of images: its networks' weights in dtypeSize bytes
// each, plus room for the activations of one image at the family's native
// size (320 MiB at 512x512, four times that for SDXL's 1024x1024) and 1.25
// times that for each further image of a batch. Measured working sets
// (H100, f16): SD 1.5 512x512 2.2 GiB at batch 1 for 2.0 GiB of weights,
// 4.8 GiB at batch 8; SDXL 1024x1024 7.8 GiB for 6.5 GiB. Larger images and
// batches still work; what exceeds the reserve is returned to CUDA after
// each call, which costs time (SD 1.5 batch 8 with the batch-1 reserve: 7%
// slower than BFC, at 5.6 instead of 8.6 GiB).
func gpuReserve(ck *checkpoint.Checkpoint, dtypeSize, images int) int64 {
	var n int64
	for _, name := range ck.Names() {
		if !isNetworkKey(name) {
			continue
		}
		if ti, ok := ck.Info(name); ok {
			n += int64(ti.NumElements())
		}
	}
	perImage := int64(320 << 20)
	if f := ck.Family(); f == checkpoint.SDXL || f == checkpoint.SDXLRefiner {
		perImage *= 4
	}
	activations := perImage + perImage*5/4*int64(max(images, 1)-1)
	return n*int64(dtypeSize) + activations
}

// isNetworkKey reports whether an LDM key belongs to a network sdgo runs
// (not EMA copies or other extras some checkpoints carry).
func isNetworkKey(name string) bool {
	for _, p := range []string{checkpoint.PrefixUNet, checkpoint.PrefixVAE, "cond_stage_model.", "conditioner."} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// gpu describes the card XLA will use, as nvidia-smi reports it.
type gpu struct {
	Name       string
	TotalBytes int64
}

// queryGPU asks nvidia-smi for the name and memory of the first visible
// GPU, once per process (every model load opens a backend; the card does
// not change). ok is false where nvidia-smi is missing or says nothing
// useful; the callers then keep XLA's defaults.
var queryGPU = sync.OnceValues(askNvidiaSMI)

func askNvidiaSMI() (g gpu, ok bool) {
	args := []string{"--query-gpu=name,memory.total", "--format=csv,noheader,nounits"}
	if v := os.Getenv("CUDA_VISIBLE_DEVICES"); v != "" {
		first := strings.TrimSpace(strings.Split(v, ",")[0])
		if _, err := strconv.Atoi(first); err != nil {
			return gpu{}, false // UUIDs or MIG names: not worth guessing
		}
		args = append(args, "-i", first)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nvidia-smi", args...).Output()
	if err != nil {
		return gpu{}, false
	}
	return parseGPU(string(out))
}

// parseGPU reads nvidia-smi's "name, MiB" line.
func parseGPU(out string) (gpu, bool) {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	i := strings.LastIndex(line, ",")
	if i < 0 {
		return gpu{}, false
	}
	mib, err := strconv.ParseInt(strings.TrimSpace(line[i+1:]), 10, 64)
	name := strings.TrimSpace(line[:i])
	if err != nil || mib <= 0 || name == "" {
		return gpu{}, false
	}
	return gpu{Name: name, TotalBytes: mib << 20}, true
}

// allocatorOptions are the PJRT client options for a model that wants
// reserve bytes of GPU memory on g (see the comment at the top of this
// file); reserve 0 or an unknown GPU keep XLA's BFC allocator growing on
// demand. Environment settings win.
func allocatorOptions(reserve int64, g gpu, known bool) pjrt.NamedValuesMap {
	opts := pjrt.NamedValuesMap{"preallocate": false}
	if reserve > 0 && known && g.TotalBytes > 0 {
		frac := min(float64(reserve)/float64(g.TotalBytes), 0.9)
		opts["allocator"] = "cuda_async"
		opts["preallocate"] = true
		opts["memory_fraction"] = float32(frac)
	}
	if a := os.Getenv("SDGO_XLA_ALLOCATOR"); a != "" {
		opts["allocator"] = a
		if a != "cuda_async" {
			opts["preallocate"] = false
			delete(opts, "memory_fraction")
		}
	}
	if v := os.Getenv("SDGO_XLA_PREALLOCATE"); v != "" {
		opts["preallocate"] = v == "1"
	}
	if f, err := strconv.ParseFloat(os.Getenv("SDGO_XLA_MEMORY_FRACTION"), 64); err == nil {
		opts["memory_fraction"] = float32(f)
	}
	return opts
}
