package server

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif" // init images may be GIF, JPEG or PNG
	_ "image/jpeg"
	_ "image/png"

	"sdgo/api"
	"sdgo/internal/engine"
	"sdgo/internal/pipeline"
	"sdgo/internal/upscale"
)

// maxImageSide bounds the pixels of an uploaded image before it is decoded.
const maxImageSide = 8192

// img2imgRequest validates an img2img request, decoding its images, into
// an engine request.
func (s *Server) img2imgRequest(q *api.Img2ImgRequest, client string) (engine.Request, overrides, error) {
	ve := &validationError{}
	r, o := s.generationRequest(&q.GenerationParams, client, ve)
	ip := &pipeline.Img2ImgParams{DenoisingStrength: q.DenoisingStrength, ResizeMode: upscale.Mode(q.ResizeMode),
		InpaintingFill: q.InpaintingFill, InpaintFullRes: q.InpaintFullRes, InpaintFullResPadding: q.InpaintFullResPadding,
		InvertMask: q.InpaintingMaskInvert == 1}
	switch n := len(q.InitImages); {
	case n == 0:
		ve.add("init_images", "img2img needs at least one init image (base64)")
	case n > 1 && n > q.BatchSize:
		ve.add("init_images", "%d images for a batch of %d: give one, or at most batch_size", n, q.BatchSize)
	}
	for i, b64 := range q.InitImages {
		img, err := decodePicture(b64)
		if err != nil {
			ve.add(fmt.Sprintf("init_images.%d", i), "%v", err)
			continue
		}
		ip.Init = append(ip.Init, img)
	}
	if q.Mask != nil && *q.Mask != "" {
		m, err := decodePicture(*q.Mask)
		if err != nil {
			ve.add("mask", "%v", err)
		}
		ip.Mask = m
	}
	checkImg2Img(q, ip, ve)
	if err := ve.err(); err != nil {
		return r, o, err
	}
	if len(ip.Init) > 1 {
		r.Params.BatchSize = len(ip.Init)
	}
	r.Img2Img = ip
	return r, o, nil
}

// checkImg2Img checks the img2img fields and fills ip's mask blur and
// noise multiplier.
func checkImg2Img(q *api.Img2ImgRequest, ip *pipeline.Img2ImgParams, ve *validationError) {
	if !(q.DenoisingStrength >= 0 && q.DenoisingStrength <= 1) {
		ve.add("denoising_strength", "must be from 0 to 1, got %v", q.DenoisingStrength)
	}
	if q.ResizeMode < 0 || q.ResizeMode > 3 {
		ve.add("resize_mode", "must be 0 (just resize), 1 (crop and resize), 2 (resize and fill) or 3 (latent upscale), got %d", q.ResizeMode)
	}
	if q.InpaintingFill < 0 || q.InpaintingFill > 3 {
		ve.add("inpainting_fill", "must be 0 (fill), 1 (original), 2 (latent noise) or 3 (latent nothing), got %d", q.InpaintingFill)
	}
	if q.InpaintingMaskInvert != 0 && q.InpaintingMaskInvert != 1 {
		ve.add("inpainting_mask_invert", "must be 0 or 1, got %d", q.InpaintingMaskInvert)
	}
	if q.InpaintFullResPadding < 0 || q.InpaintFullResPadding > 1024 {
		ve.add("inpaint_full_res_padding", "must be from 0 to 1024, got %d", q.InpaintFullResPadding)
	}
	blurX, blurY := q.MaskBlurX, q.MaskBlurY
	if q.MaskBlur != nil {
		blurX, blurY = *q.MaskBlur, *q.MaskBlur
	}
	switch {
	case blurX != blurY:
		ve.add("mask_blur_y", "a different vertical mask blur (%d, horizontal %d) is not supported by sdgo yet", blurY, blurX)
	case blurX < 0 || blurX > 256:
		ve.add("mask_blur", "must be from 0 to 256, got %d", blurX)
	}
	ip.MaskBlur = blurX
	if !q.MaskRound {
		ve.add("mask_round", "only the default true is supported by sdgo yet")
	}
	if q.LatentMask != nil && *q.LatentMask != "" {
		ve.add("latent_mask", "a separate latent mask is not supported by sdgo yet")
	}
	if m := q.InitialNoiseMultiplier; m != nil {
		if !(*m >= 0 && *m <= 10) {
			ve.add("initial_noise_multiplier", "must be from 0 to 10, got %v", *m)
		}
		ip.NoiseMultiplier = *m
	}
}

// decodePicture decodes a base64 PNG, JPEG or GIF, refusing huge images
// before decoding their pixels.
func decodePicture(b64 string) (image.Image, error) {
	data, err := decodeImage(b64)
	if err != nil {
		return nil, err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a PNG, JPEG or GIF image: %v", err)
	}
	if cfg.Width > maxImageSide || cfg.Height > maxImageSide || cfg.Width < 1 || cfg.Height < 1 {
		return nil, fmt.Errorf("%s image of %dx%d: each side must be from 1 to %d pixels", format, cfg.Width, cfg.Height, maxImageSide)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s image: %v", format, err)
	}
	return img, nil
}
