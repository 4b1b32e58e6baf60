package server

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"

	"sdgo/api"
	"sdgo/internal/imagefile"
	"sdgo/internal/infotext"
)

// pngInfo reads the infotext of an uploaded image and parses it.
func (s *Server) pngInfo(w http.ResponseWriter, r *http.Request) error {
	var q api.PNGInfoRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	data, err := decodeImage(q.Image)
	if err != nil {
		ve := &validationError{}
		ve.add("image", "%v", err)
		return ve
	}
	out := api.PNGInfoResponse{Items: pngText(data), Parameters: map[string]any{}}
	if bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		text, err := imagefile.ReadParameters(bytes.NewReader(data))
		if err != nil {
			ve := &validationError{}
			ve.add("image", "%v", err)
			return ve
		}
		out.Info = text
		delete(out.Items, imagefile.ParametersKey)
		if text != "" {
			info, err := infotext.Parse(text)
			if err != nil {
				ve := &validationError{}
				ve.add("image", "%v", err)
				return ve
			}
			out.Parameters = info.Parameters()
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// decodeImage decodes base64 image data, with or without a data: URL prefix.
func decodeImage(s string) ([]byte, error) {
	if strings.HasPrefix(s, "data:") {
		if i := strings.Index(s, ","); i >= 0 {
			s = s[i+1:]
		}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errorf(http.StatusUnprocessableEntity, "ValidationError", "image is empty")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b2, err2 := base64.RawStdEncoding.DecodeString(s); err2 == nil {
			return b2, nil
		}
		return nil, errorf(http.StatusUnprocessableEntity, "ValidationError", "image is not valid base64: %v", err)
	}
	return b, nil
}

// pngText returns a PNG's Latin-1 tEXt chunks (key -> text).
func pngText(data []byte) map[string]string {
	out := map[string]string{}
	if len(data) < 8 || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		return out
	}
	for p := 8; p+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[p:]))
		if n < 0 || p+12+n > len(data) {
			break
		}
		if string(data[p+4:p+8]) == "tEXt" {
			if k, v, ok := bytes.Cut(data[p+8:p+8+n], []byte{0}); ok {
				r := make([]rune, len(v))
				for i, c := range v {
					r[i] = rune(c)
				}
				out[string(k)] = string(r)
			}
		}
		p += 12 + n
	}
	return out
}
