package pipeline

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// maxAxisValues bounds what one axis may expand to.
const maxAxisValues = 10000

// Values parses an axis's text as webui does: comma-separated values with
// CSV quoting (each trimmed), numeric ranges "1-5" (both ends included),
// "1-9 (+2)" (a step), "10-20 [3]" (a count, evenly spaced), then each
// value converted to the axis's type. Nothing has the one value 0.
// Prompt order yields every ordering of its values.
func (t *AxisType) Values(text string) ([]any, error) {
	if t.Label == "Nothing" {
		return []any{int64(0)}, nil
	}
	items, err := splitCSV(text)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("no values")
	}
	var out []any
	switch t.kind {
	case kindInt:
		for _, s := range items {
			vs, err := intValues(s)
			if err != nil {
				return nil, err
			}
			out = append(out, vs...)
		}
	case kindFloat:
		for _, s := range items {
			vs, err := floatValues(s)
			if err != nil {
				return nil, err
			}
			out = append(out, vs...)
		}
	case kindPerm:
		for _, perm := range permutations(items) {
			out = append(out, perm)
		}
	default:
		for _, s := range items {
			out = append(out, s)
		}
	}
	if len(out) > maxAxisValues {
		return nil, fmt.Errorf("%d values, more than the %d an axis may have", len(out), maxAxisValues)
	}
	return out, nil
}

// Format is the value's grid label: "Label: value" (floats rounded to 8
// decimals and written as Python writes them, "7.0"), the bare value for
// Prompt S/R, Prompt order (joined by ", "), Sampler and Checkpoint name
// (without its folder), and "" for Nothing.
func (t *AxisType) Format(v any) string {
	var s string
	switch x := v.(type) {
	case int64:
		s = strconv.FormatInt(x, 10)
	case float64:
		s = pyFloat(roundTo8(x))
	case []string:
		s = strings.Join(x, ", ")
	case string:
		s = x
	}
	switch {
	case t.Label == "Nothing":
		return ""
	case t.model == checkpointKey:
		return s[strings.LastIndex(s, "/")+1:]
	case t.bare:
		return s
	}
	return t.Label + ": " + s
}

// splitCSV splits text as Python's csv.reader with skipinitialspace does
// (commas separate fields, newlines rows; a field that starts with a double
// quote runs to the closing quote, "" inside it being one quote) and trims
// each field.
func splitCSV(text string) ([]string, error) {
	var out []string
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if line == "" {
			continue
		}
		rs := []rune(line)
		for i := 0; ; {
			for i < len(rs) && rs[i] == ' ' {
				i++
			}
			var f strings.Builder
			if i < len(rs) && rs[i] == '"' {
				i++
				for {
					if i == len(rs) {
						return nil, fmt.Errorf("unterminated quote in %q", line)
					}
					if rs[i] == '"' {
						if i+1 < len(rs) && rs[i+1] == '"' {
							f.WriteRune('"')
							i += 2
							continue
						}
						i++
						break
					}
					f.WriteRune(rs[i])
					i++
				}
			}
			for i < len(rs) && rs[i] != ',' {
				f.WriteRune(rs[i])
				i++
			}
			out = append(out, strings.TrimSpace(f.String()))
			if i == len(rs) {
				break
			}
			i++ // the comma
		}
	}
	return out, nil
}

// The range forms of webui's xyz_grid (its float patterns' "." is taken
// literally here).
var (
	reIntRange   = regexp.MustCompile(`^\s*([+-]?\s*\d+)\s*-\s*([+-]?\s*\d+)(?:\s*\(([+-]\d+)\s*\))?\s*$`)
	reIntCount   = regexp.MustCompile(`^\s*([+-]?\s*\d+)\s*-\s*([+-]?\s*\d+)(?:\s*\[(\d+)\s*\])?\s*$`)
	reFloatRange = regexp.MustCompile(`^\s*([+-]?\s*\d+(?:\.\d*)?)\s*-\s*([+-]?\s*\d+(?:\.\d*)?)(?:\s*\(([+-]\d+(?:\.\d*)?)\s*\))?\s*$`)
	reFloatCount = regexp.MustCompile(`^\s*([+-]?\s*\d+(?:\.\d*)?)\s*-\s*([+-]?\s*\d+(?:\.\d*)?)(?:\s*\[(\d+(?:\.\d*)?)\s*\])?\s*$`)
)

// Range errors.
var (
	errEmptyRange = errors.New("range holds no values")
	errZeroStep   = errors.New("range step must not be 0")
	errLargeRange = fmt.Errorf("range holds more than %d values", maxAxisValues)
)

// atoi64 and atof read a range bound, which the patterns allow to have
// blanks after its sign ("- 5").
func atoi64(s string) (int64, error) {
	return strconv.ParseInt(strings.Join(strings.Fields(s), ""), 10, 64)
}

func atof(s string) (float64, error) {
	return strconv.ParseFloat(strings.Join(strings.Fields(s), ""), 64)
}

// intValues expands one item of an integer axis.
func intValues(s string) ([]any, error) {
	if m := reIntRange.FindStringSubmatch(s); m != nil {
		start, _ := atoi64(m[1])
		end, _ := atoi64(m[2])
		step := int64(1)
		if m[3] != "" {
			step, _ = atoi64(m[3])
		}
		if step == 0 {
			return nil, fmt.Errorf("%q: %w", s, errZeroStep)
		}
		end++ // webui's range(start, end+1, step), whatever the step's sign
		n := (end - start + step - sign(step)) / step
		if n <= 0 {
			return nil, fmt.Errorf("%q: %w", s, errEmptyRange)
		}
		if n > maxAxisValues {
			return nil, fmt.Errorf("%q: %w", s, errLargeRange)
		}
		out := make([]any, n)
		for i := range out {
			out[i] = start + int64(i)*step
		}
		return out, nil
	}
	if m := reIntCount.FindStringSubmatch(s); m != nil {
		a, _ := atoi64(m[1])
		b, _ := atoi64(m[2])
		vs, err := linspace(s, float64(a), float64(b), m[3])
		if err != nil {
			return nil, err
		}
		out := make([]any, len(vs))
		for i, v := range vs {
			out[i] = int64(v) // Python's int(): towards zero
		}
		return out, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%q is not an integer or a range (1-5, 1-9 (+2), 10-20 [3])", s)
	}
	return []any{n}, nil
}

func sign(n int64) int64 {
	if n < 0 {
		return -1
	}
	return 1
}

// floatValues expands one item of a float axis.
func floatValues(s string) ([]any, error) {
	if m := reFloatRange.FindStringSubmatch(s); m != nil {
		start, _ := atof(m[1])
		end, _ := atof(m[2])
		step := 1.0
		if m[3] != "" {
			step, _ = atof(m[3])
		}
		if step == 0 {
			return nil, fmt.Errorf("%q: %w", s, errZeroStep)
		}
		// numpy.arange(start, end+step, step): ceil((stop-start)/step)
		// values start + i*delta, delta being the first difference.
		stop := end + step
		n := math.Ceil((stop - start) / step)
		if !(n > 0) {
			return nil, fmt.Errorf("%q: %w", s, errEmptyRange)
		}
		if n > maxAxisValues {
			return nil, fmt.Errorf("%q: %w", s, errLargeRange)
		}
		delta := (start + step) - start
		out := make([]any, int(n))
		for i := range out {
			out[i] = start + float64(i)*delta
		}
		return out, nil
	}
	if m := reFloatCount.FindStringSubmatch(s); m != nil {
		a, _ := atof(m[1])
		b, _ := atof(m[2])
		vs, err := linspace(s, a, b, m[3])
		if err != nil {
			return nil, err
		}
		out := make([]any, len(vs))
		for i, v := range vs {
			out[i] = v
		}
		return out, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return nil, fmt.Errorf("%q is not a number or a range (1-5, 1-2 (+0.25), 1-2 [5])", s)
	}
	return []any{f}, nil
}

// linspace is numpy.linspace(a, b, count) for a "[count]" suffix (none =
// 1): evenly spaced, the last value exactly b.
func linspace(item string, a, b float64, count string) ([]float64, error) {
	n := 1
	if count != "" {
		var err error
		if n, err = strconv.Atoi(count); err != nil {
			return nil, fmt.Errorf("%q: count %q is not an integer", item, count)
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("%q: %w", item, errEmptyRange)
	}
	if n > maxAxisValues {
		return nil, fmt.Errorf("%q: %w", item, errLargeRange)
	}
	out := make([]float64, n)
	if n == 1 {
		out[0] = a
		return out, nil
	}
	step := (b - a) / float64(n-1)
	for i := range out {
		out[i] = a + float64(i)*step
	}
	out[n-1] = b
	return out, nil
}

// permutations lists every ordering of items in itertools.permutations'
// order (lexicographic in the positions).
func permutations(items []string) [][]string {
	if len(items) <= 1 {
		return [][]string{append([]string(nil), items...)}
	}
	var out [][]string
	for i, first := range items {
		rest := append(append([]string(nil), items[:i]...), items[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]string{first}, p...))
		}
	}
	return out
}

// roundTo8 is Python's round(x, 8) (correctly rounded through decimal).
func roundTo8(x float64) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 8, 64), 64)
	if err != nil {
		return x
	}
	return r
}

// pyFloat writes x as Python's str(float) does: the shortest digits that
// read back, "7.0" for whole numbers, exponent form below 1e-4 and from
// 1e16 ("1e-05", "1e+16").
func pyFloat(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(x, 'e', -1, 64) // d.ddde±XX
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	if x == 0 || (exp >= -4 && exp < 16) {
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	sgn := "+"
	if exp < 0 {
		sgn, exp = "-", -exp
	}
	return fmt.Sprintf("%se%s%02d", mant, sgn, exp)
}
