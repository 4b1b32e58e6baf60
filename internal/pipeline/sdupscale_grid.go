package pipeline

import (
	"fmt"
	"image"
)

// TileGrid is webui's tile layout (images.split_grid): the columns' x and
// the rows' y of tiles of TileW x TileH covering an ImageW x ImageH image,
// neighbours sharing at least Overlap pixels. Every row has the same
// columns. Tiles are numbered row by row.
type TileGrid struct {
	ImageW, ImageH int
	TileW, TileH   int
	Overlap        int
	Xs, Ys         []int
}

// SplitGrid lays out tiles as webui's split_grid does: ceil((size -
// overlap) / (tile - overlap)) tiles per axis, spread evenly (tile i at
// int(i * (size - tile) / (n - 1)), computed in float64), the last one
// aligned with the far edge. An image smaller than a tile gets one tile
// at a negative offset: the part outside the image is black (PIL's crop)
// and is blended with black when the tiles are combined, as in webui.
//
// One deliberate difference: webui's float product can fall just short of
// the far edge for the last tile (e.g. 332 pixels, tile 88, overlap 48:
// 243 instead of 244), leaving the last pixels uncovered and black; sdgo
// always puts the last tile at the edge.
func SplitGrid(w, h, tileW, tileH, overlap int) (TileGrid, error) {
	if overlap < 0 || overlap >= tileW || overlap >= tileH {
		return TileGrid{}, fmt.Errorf("SD upscale overlap %d must be smaller than the tile size %dx%d", overlap, tileW, tileH)
	}
	if w <= overlap || h <= overlap {
		return TileGrid{}, fmt.Errorf("the upscaled image %dx%d must be larger than the overlap %d", w, h, overlap)
	}
	return TileGrid{ImageW: w, ImageH: h, TileW: tileW, TileH: tileH, Overlap: overlap,
		Xs: tileOrigins(w, tileW, overlap), Ys: tileOrigins(h, tileH, overlap)}, nil
}

// tileOrigins is split_grid's positions along one axis.
func tileOrigins(size, tile, overlap int) []int {
	n := (size - overlap + tile - overlap - 1) / (tile - overlap)
	d := 0.0
	if n > 1 {
		d = float64(size-tile) / float64(n-1)
	}
	out := make([]int, n)
	for i := range out {
		x := int(float64(i) * d)
		if x+tile >= size || i == n-1 {
			x = size - tile
		}
		out[i] = x
	}
	return out
}

// Len is the number of tiles.
func (g TileGrid) Len() int { return len(g.Xs) * len(g.Ys) }

// Split cuts img (ImageW x ImageH) into the grid's tiles, row by row;
// pixels outside img are opaque black.
func (g TileGrid) Split(img *image.NRGBA) []*image.NRGBA {
	var tiles []*image.NRGBA
	for _, y := range g.Ys {
		for _, x := range g.Xs {
			t := blackImage(g.TileW, g.TileH)
			paste(t, img, img.Rect, image.Pt(-x, -y), nil)
			tiles = append(tiles, t)
		}
	}
	return tiles
}

// Combine is webui's combine_grid: each row is assembled left to right,
// a tile's first Overlap columns blended over what is there with a linear
// mask (weight int(i * 255 / Overlap) for column i, PIL's rounded
// blend), the rest pasted; the rows are then assembled top to bottom the
// same way with the mask along y. Where tiles overlap by more than
// Overlap, the later tile wins outside the blend. tiles are TileW x TileH,
// row by row; a missing (nil) tile is black.
func (g TileGrid) Combine(tiles []*image.NRGBA) *image.NRGBA {
	ramp := make([]int, g.Overlap)
	for i := range ramp {
		ramp[i] = i * 255 / g.Overlap
	}
	alongX := func(x, _ int) int { return ramp[x] }
	alongY := func(_, y int) int { return ramp[y] }
	out := blackImage(g.ImageW, g.ImageH)
	k := 0
	for _, y := range g.Ys {
		row := blackImage(g.ImageW, g.TileH)
		for _, x := range g.Xs {
			t := blackImage(g.TileW, g.TileH)
			if k < len(tiles) && tiles[k] != nil {
				t = tiles[k]
			}
			k++
			if x == 0 {
				paste(row, t, t.Rect, image.Pt(0, 0), nil)
				continue
			}
			r := t.Rect
			paste(row, t, image.Rect(r.Min.X, r.Min.Y, r.Min.X+g.Overlap, r.Max.Y), image.Pt(x, 0), alongX)
			paste(row, t, image.Rect(r.Min.X+g.Overlap, r.Min.Y, r.Max.X, r.Max.Y), image.Pt(x+g.Overlap, 0), nil)
		}
		if y == 0 {
			paste(out, row, row.Rect, image.Pt(0, 0), nil)
			continue
		}
		paste(out, row, image.Rect(0, 0, g.ImageW, g.Overlap), image.Pt(0, y), alongY)
		paste(out, row, image.Rect(0, g.Overlap, g.ImageW, g.TileH), image.Pt(0, y+g.Overlap), nil)
	}
	return out
}

// blackImage is PIL's Image.new("RGB", (w, h)) as NRGBA: opaque black.
func blackImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	return img
}

// paste is PIL's dst.paste(src.crop(r), at, mask), clipped to dst: with a
// mask (weight 0-255 at a position relative to r's corner) each byte
// becomes (dst*(255-m) + src*m) / 255, rounded as PIL's DIV255; without
// one the pixels are copied.
func paste(dst, src *image.NRGBA, r image.Rectangle, at image.Point, mask func(x, y int) int) {
	for sy := r.Min.Y; sy < r.Max.Y; sy++ {
		dy := at.Y + sy - r.Min.Y
		if dy < 0 || dy >= dst.Rect.Dy() {
			continue
		}
		for sx := r.Min.X; sx < r.Max.X; sx++ {
			dx := at.X + sx - r.Min.X
			if dx < 0 || dx >= dst.Rect.Dx() {
				continue
			}
			d := dst.Pix[dst.PixOffset(dst.Rect.Min.X+dx, dst.Rect.Min.Y+dy):]
			s := src.Pix[src.PixOffset(sx, sy):]
			if mask == nil {
				copy(d[:4], s[:4])
				continue
			}
			m := mask(sx-r.Min.X, sy-r.Min.Y)
			for c := 0; c < 4; c++ {
				d[c] = uint8(div255(int(d[c])*(255-m) + int(s[c])*m))
			}
		}
	}
}
