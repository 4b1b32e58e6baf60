package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"sdgo/internal/imagefile"
	"sdgo/internal/infotext"
)

func init() {
	register("pnginfo", "print the generation parameters (infotext) stored in a PNG, JPEG or WebP", runPNGInfo)
}

// runPNGInfo prints a PNG's "parameters" text (or a JPEG's Exif
// UserComment) as webui's PNG Info tab
// shows it, or with --json the fields webui's parser reads from it.
func runPNGInfo(_ context.Context, e *Env, args []string) error {
	fs := newFlags("pnginfo", e)
	asJSON := fs.Bool("json", false, "print the parsed fields (webui's png-info \"parameters\") as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sdgo pnginfo [--json] FILE.png|FILE.jpg")
		fs.PrintDefaults()
	}
	// flags may follow the file name
	var flags, files []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
		} else {
			files = append(files, a)
		}
	}
	if err := parse(fs, flags, 0); err != nil {
		return err
	}
	if len(files) != 1 {
		return usagef("give one PNG file (or JPEG), e.g. sdgo pnginfo outputs/00000-1234.png")
	}
	f, err := os.Open(files[0])
	if err != nil {
		return err
	}
	defer f.Close()
	text, err := imagefile.ReadInfotext(f)
	if err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	if text == "" {
		return fmt.Errorf("%s has no \"parameters\" text (PNG text chunk or JPEG Exif UserComment): it was not written by sdgo or webui, or the text was stripped", files[0])
	}
	if !*asJSON {
		fmt.Fprintln(e.Stdout, text)
		return nil
	}
	info, err := infotext.Parse(text)
	if err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	enc := json.NewEncoder(e.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(info.Parameters())
}
