package vae

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // GoMLX graph DSL

	"sdgo/internal/nn"
)

// Encode runs the encoder and quant_conv on image [B,InChannels,H,W] (NCHW,
// values in about [-1,1]) with s positioned at the VAE's key prefix. It
// returns the moments [B,2*EmbedDim,H/f,W/f] (NCHW, compute dtype) with
// f = 2^(len(ChMult)-1) (8 in SD): mean then log-variance, unscaled.
// Port of AutoencoderKL.encode before DiagonalGaussianDistribution.
func Encode(s *nn.Scope, cfg Config, image *Node) *Node {
	x := s.Cast(TransposeAllAxes(image, 0, 2, 3, 1))
	h := encoder(s.In("encoder"), cfg, x)
	m := nn.LinearOrConv1x1(s.In("quant_conv"), h)
	return TransposeAllAxes(m, 0, 3, 1, 2)
}

// Decode runs post_quant_conv and the decoder on the unscaled latent
// z [B,EmbedDim,h,w] (NCHW; the caller divides the UNet's latent by
// ScaleFactor) with s positioned at the VAE's key prefix. It returns the
// image [B,OutChannels,h*f,w*f] (NCHW, compute dtype, values in about
// [-1,1]). Port of AutoencoderKL.decode.
func Decode(s *nn.Scope, cfg Config, z *Node) *Node {
	x := s.Cast(TransposeAllAxes(z, 0, 2, 3, 1))
	x = nn.LinearOrConv1x1(s.In("post_quant_conv"), x)
	h := decoder(s.In("decoder"), cfg, x)
	return TransposeAllAxes(h, 0, 3, 1, 2)
}

// MeanLogVar separates moments [B,2E,h,w] into the mean [B,E,h,w] and the
// log-variance clamped to [-30, 20] as LDM's DiagonalGaussianDistribution
// does.
func MeanLogVar(moments *Node) (mean, logvar *Node) {
	e := moments.Shape().Dim(1) / 2
	mean = Slice(moments, AxisRange(), AxisRange(0, e))
	logvar = ClipScalar(Slice(moments, AxisRange(), AxisRange(e, 2*e)), -30, 20)
	return mean, logvar
}

// Sample draws a latent from the distribution: mean + exp(logvar/2)*noise,
// with noise [B,E,h,w] of unit normal values supplied by the caller.
func Sample(mean, logvar, noise *Node) *Node {
	return Add(mean, Mul(Exp(MulScalar(logvar, 0.5)), ConvertDType(noise, mean.DType())))
}
