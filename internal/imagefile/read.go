package imagefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ReadInfotext returns the generation parameters stored in a PNG (the
// "parameters" text chunk), a JPEG or a WebP file (the Exif UserComment),
// or "" when the file has none. Other formats are an error.
func ReadInfotext(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return "", fmt.Errorf("imagefile: read: %w", err)
	}
	switch {
	case len(data) >= 8 && string(data[:8]) == "\x89PNG\r\n\x1a\n":
		return ReadParameters(bytes.NewReader(data))
	case len(data) >= 2 && data[0] == 0xff && data[1] == 0xd8:
		return readJPEGInfotext(data)
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return readWebPInfotext(data)
	}
	return "", errors.New("imagefile: read: not a PNG, JPEG or WebP file")
}
