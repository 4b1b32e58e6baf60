package server

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"sdgo/api"
	"sdgo/internal/imagefile"
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
			out.Parameters = parseInfotext(text)
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

// paramRE matches one "Key: value" pair of an infotext's last line: a
// JSON-quoted value or everything up to the next comma.
var paramRE = regexp.MustCompile(`\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)`)

var sizeRE = regexp.MustCompile(`^(\d+)x(\d+)$`)

// parseInfotext splits webui's parameters text into Prompt, Negative
// prompt and the key-value pairs, as webui's parse_generation_parameters
// does (the last line holds parameters only when it has at least 3 pairs;
// "WxH" values also give Key-1 and Key-2).
// TODO: move into package infotext as infotext.Parse.
func parseInfotext(text string) map[string]any {
	out := map[string]any{}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	last := lines[len(lines)-1]
	if len(paramRE.FindAllString(last, -1)) >= 3 {
		lines = lines[:len(lines)-1]
	} else {
		last = ""
	}
	var prompt, neg []string
	inNeg := false
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "Negative prompt:"); ok && !inNeg {
			inNeg = true
			l = strings.TrimSpace(rest)
		}
		if inNeg {
			neg = append(neg, l)
		} else {
			prompt = append(prompt, l)
		}
	}
	out["Prompt"] = strings.Join(prompt, "\n")
	out["Negative prompt"] = strings.Join(neg, "\n")
	for _, m := range paramRE.FindAllStringSubmatch(last, -1) {
		k, v := strings.TrimSpace(m[1]), strings.TrimSpace(m[2])
		if strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) {
			var s string
			if json.Unmarshal([]byte(v), &s) == nil {
				v = s
			}
		}
		out[k] = v
		if sz := sizeRE.FindStringSubmatch(v); sz != nil {
			out[k+"-1"], out[k+"-2"] = sz[1], sz[2]
		}
	}
	if _, ok := out["Clip skip"]; !ok {
		out["Clip skip"] = "1"
	}
	return out
}
