package imagefile

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Annotation is one line of a grid label. Inactive lines (a prompt matrix
// part that is off) are drawn grey and struck through, as webui does.
type Annotation struct {
	Text   string
	Active bool
}

// Colours of grid labels, as webui draws them.
var (
	labelActive   = color.NRGBA{0, 0, 0, 255}
	labelInactive = color.NRGBA{153, 153, 153, 255}
)

// AutoRows is webui's default row count for n images (opts.n_rows = -1):
// floor(sqrt(n)), lowered until it divides n.
func AutoRows(n int) int {
	if n <= 0 {
		return 1
	}
	rows := int(math.Sqrt(float64(n)))
	for rows > 1 && n%rows != 0 {
		rows--
	}
	return max(rows, 1)
}

// Grid lays images out cols to a row (cols <= 0: webui's automatic layout,
// see AutoRows) on a black background, every cell the size of the first
// image. With labels, a white margin above (colLabels, one per column) and
// to the left (rowLabels, one per row) carries the text; a label may hold
// several lines separated by "\n". Either label list may be nil.
func Grid(images []image.Image, cols int, rowLabels, colLabels []string) *image.NRGBA {
	return GridAnnotated(images, cols, toAnnotations(rowLabels), toAnnotations(colLabels))
}

func toAnnotations(labels []string) [][]Annotation {
	if len(labels) == 0 {
		return nil
	}
	out := make([][]Annotation, len(labels))
	for i, l := range labels {
		for _, line := range strings.Split(l, "\n") {
			out[i] = append(out[i], Annotation{Text: line, Active: true})
		}
	}
	return out
}

// GridAnnotated is Grid with labels made of annotation lines, each of
// which may be active or not (webui's prompt matrix labels).
func GridAnnotated(images []image.Image, cols int, rowLabels, colLabels [][]Annotation) *image.NRGBA {
	return GridAnnotatedMargin(images, cols, rowLabels, colLabels, 0)
}

// GridAnnotatedMargin is GridAnnotated with margin pixels of white between
// neighbouring cells, as webui's draw_grid_annotations(..., margin) draws
// the X/Y/Z plot. As there, labels whose texts are all empty take no
// margin (an axis of type Nothing), and the background is white whenever
// labels or a margin are drawn.
func GridAnnotatedMargin(images []image.Image, cols int, rowLabels, colLabels [][]Annotation, margin int) *image.NRGBA {
	margin = max(margin, 0)
	if allEmpty(rowLabels) {
		rowLabels = nil
	}
	if allEmpty(colLabels) {
		colLabels = nil
	}
	n := len(images)
	if n == 0 {
		return image.NewNRGBA(image.Rect(0, 0, 0, 0))
	}
	if cols <= 0 {
		rows := AutoRows(n)
		cols = (n + rows - 1) / rows
	}
	rows := (n + cols - 1) / cols
	w, h := images[0].Bounds().Dx(), images[0].Bounds().Dy()
	scale := max(1, (w+h)/25/basicfont.Face7x13.Height)
	lineH := basicfont.Face7x13.Height * scale
	spacing := lineH / 2

	// Wrap every label to its box and size the margins as webui does:
	// 3/4 of a cell to the left, the tallest column label (plus spacing) on top.
	padLeft, padTop := 0, 0
	if len(rowLabels) > 0 {
		padLeft = w * 3 / 4
	}
	wrapAll := func(labels [][]Annotation, width int) [][]Annotation {
		out := make([][]Annotation, len(labels))
		for i, l := range labels {
			out[i] = wrapLines(l, width/(basicfont.Face7x13.Advance*scale))
		}
		return out
	}
	rowL := wrapAll(rowLabels, padLeft)
	colL := wrapAll(colLabels, w)
	if len(colL) > 0 {
		tallest := 0
		for _, l := range colL {
			tallest = max(tallest, len(l))
		}
		padTop = tallest*lineH + 2*spacing
	}

	out := image.NewNRGBA(image.Rect(0, 0, padLeft+cols*w+margin*(cols-1), padTop+rows*h+margin*(rows-1)))
	bg := color.NRGBA{255, 255, 255, 255}
	if padLeft == 0 && padTop == 0 && margin == 0 {
		bg = color.NRGBA{0, 0, 0, 255}
	}
	black := image.NewUniform(color.NRGBA{0, 0, 0, 255})
	draw.Draw(out, out.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	for i := 0; i < rows*cols; i++ { // empty spots stay black, as in webui's image_grid
		x, y := padLeft+(i%cols)*(w+margin), padTop+(i/cols)*(h+margin)
		draw.Draw(out, image.Rect(x, y, x+w, y+h), black, image.Point{}, draw.Src)
	}
	for i, img := range images {
		x, y := padLeft+(i%cols)*(w+margin), padTop+(i/cols)*(h+margin)
		draw.Draw(out, image.Rect(x, y, x+w, y+h), img, img.Bounds().Min, draw.Src)
	}
	for c := 0; c < cols && c < len(colL); c++ {
		drawLines(out, colL[c], padLeft+c*(w+margin)+w/2, padTop/2, scale)
	}
	for r := 0; r < rows && r < len(rowL); r++ {
		drawLines(out, rowL[r], padLeft/2, padTop+r*(h+margin)+h/2, scale)
	}
	return out
}

// allEmpty reports whether no line of labels has any text.
func allEmpty(labels [][]Annotation) bool {
	for _, l := range labels {
		for _, a := range l {
			if a.Text != "" {
				return false
			}
		}
	}
	return true
}

// wrapLines breaks each annotation into lines of at most width characters
// at spaces (a longer word stays whole).
func wrapLines(lines []Annotation, width int) []Annotation {
	width = max(width, 1)
	var out []Annotation
	for _, a := range lines {
		var cur string
		for _, word := range strings.Fields(a.Text) {
			switch {
			case cur == "":
				cur = word
			case len(cur)+1+len(word) <= width:
				cur += " " + word
			default:
				out = append(out, Annotation{cur, a.Active})
				cur = word
			}
		}
		out = append(out, Annotation{cur, a.Active})
	}
	return out
}

// drawLines draws the lines centred on (cx, cy), each character an integer
// scale of basicfont's 7x13 glyphs.
func drawLines(dst *image.NRGBA, lines []Annotation, cx, cy, scale int) {
	face := basicfont.Face7x13
	lineH := face.Height * scale
	y := cy - len(lines)*lineH/2
	for _, l := range lines {
		tw := len([]rune(l.Text)) * face.Advance
		mask := image.NewAlpha(image.Rect(0, 0, max(tw, 1), face.Height))
		d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Ascent)}
		d.DrawString(l.Text)
		col := labelActive
		if !l.Active {
			col = labelInactive
			for x := 0; x < tw; x++ { // strike through
				mask.SetAlpha(x, face.Height/2, color.Alpha{255})
			}
		}
		x0 := cx - tw*scale/2
		for py := 0; py < face.Height*scale; py++ {
			for px := 0; px < tw*scale; px++ {
				if mask.AlphaAt(px/scale, py/scale).A > 127 {
					if p := (image.Point{x0 + px, y + py}); p.In(dst.Bounds()) {
						dst.SetNRGBA(p.X, p.Y, col)
					}
				}
			}
		}
		y += lineH
	}
}
