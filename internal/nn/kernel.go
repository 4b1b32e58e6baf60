package nn

import (
	"unsafe"

	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"sdgo/internal/par"
)

// Convolution kernels live in graphs as [out, kh, kw, in] (channels last,
// the layout cuDNN wants for the NHWC images of this package), not in
// PyTorch's [out, in, kh, kw]. Loaders permute each checkpoint kernel once
// (KernelTensor, PermuteKernel); graphs that took PyTorch's layout made XLA
// transpose every kernel of the UNet on every call.

// KernelShape is the graph shape of a PyTorch kernel shape: [o, i, h, w]
// becomes [o, h, w, i]; other ranks are returned unchanged.
func KernelShape(shape []int) []int {
	if len(shape) != 4 {
		return shape
	}
	return []int{shape[0], shape[2], shape[3], shape[1]}
}

// PermuteKernel copies src, a PyTorch kernel [o, i, h, w] of elem-byte
// values, into dst in the graph layout [o, h, w, i]. 1x1 kernels are the
// same bytes in both layouts. dst and src must not overlap.
func PermuteKernel(dst, src []byte, shape []int, elem int) {
	o, in, hw := shape[0], shape[1], shape[2]*shape[3]
	if hw == 1 {
		copy(dst, src)
		return
	}
	per := in * hw * elem // bytes of one output channel, in both layouts
	work := func(lo, hi int) {
		for oc := lo; oc < hi; oc++ {
			s, d := src[oc*per:(oc+1)*per], dst[oc*per:(oc+1)*per]
			switch elem {
			case 2:
				permute(as[uint16](d), as[uint16](s), in, hw)
			case 4:
				permute(as[uint32](d), as[uint32](s), in, hw)
			default:
				for i := 0; i < in; i++ {
					for p := 0; p < hw; p++ {
						copy(d[(p*in+i)*elem:(p*in+i+1)*elem], s[(i*hw+p)*elem:(i*hw+p+1)*elem])
					}
				}
			}
		}
	}
	par.For(o, max(1, (1<<20)/per), work)
}

// permute moves one output channel [in, hw] to [hw, in].
func permute[T any](d, s []T, in, hw int) {
	for i := 0; i < in; i++ {
		row := s[i*hw : (i+1)*hw]
		for p, v := range row {
			d[p*in+i] = v
		}
	}
}

// as views b as a slice of T (b's length must be a multiple of T's size).
func as[T any](b []byte) []T {
	var z T
	n := len(b) / int(unsafe.Sizeof(z))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

// KernelTensor returns t in the graph layout: a rank-4 tensor (a PyTorch
// kernel [o, i, h, w]) is permuted into a new tensor [o, h, w, i]; any
// other tensor is returned as is.
func KernelTensor(t *tensors.Tensor) *tensors.Tensor {
	sh := t.Shape()
	if sh.Rank() != 4 {
		return t
	}
	out := tensors.FromShape(shapes.Make(sh.DType, KernelShape(sh.Dimensions)...))
	elem := int(sh.DType.Size())
	t.ConstBytes(func(src []byte) {
		out.MutableBytes(func(dst []byte) { PermuteKernel(dst, src, sh.Dimensions, elem) })
	})
	return out
}
