package embedding

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"strings"
	"testing"
)

// The helpers below hand-build torch.save archives (a zip holding
// archive/data.pkl, archive/data/<key> and archive/byteorder) with the
// pickle opcodes torch writes, so the tests need no Python.

func pyStr(s string) string { return "\x8c" + string([]byte{byte(len(s))}) + s } // SHORT_BINUNICODE

func pyInt(n int) string {
	if n < 256 {
		return "K" + string([]byte{byte(n)})
	}
	return "M" + string([]byte{byte(n), byte(n >> 8)}) // BININT2
}

// pyTensor is torch._utils._rebuild_tensor_v2 of float storage key with
// the given C-order shape; parameter wraps it in _rebuild_parameter.
func pyTensor(key string, shape []int, parameter bool) string {
	numel := 1
	for _, d := range shape {
		numel *= d
	}
	tuple := func(vs []int) string {
		s := "("
		for _, v := range vs {
			s += pyInt(v)
		}
		return s + "t"
	}
	stride := make([]int, len(shape))
	for i, acc := len(shape)-1, 1; i >= 0; i-- {
		stride[i] = acc
		acc *= shape[i]
	}
	t := "ctorch._utils\n_rebuild_tensor_v2\n(" +
		"(" + pyStr("storage") + "ctorch\nFloatStorage\n" + pyStr(key) + pyStr("cpu") + pyInt(numel) + "tQ" +
		"K\x00" + tuple(shape) + tuple(stride) + "\x89ccollections\nOrderedDict\n)RtR"
	if parameter {
		t = "ctorch._utils\n_rebuild_parameter\n(" + t + "\x88ccollections\nOrderedDict\n)RtR"
	}
	return t
}

func f32Bytes(v []float32) string {
	var b bytes.Buffer
	for _, x := range v {
		binary.Write(&b, binary.LittleEndian, math.Float32bits(x))
	}
	return b.String()
}

// writeTorch writes a torch archive with the pickle program prog and the
// storages (key -> values).
func writeTorch(t *testing.T, path, prog string, storages map[string][]float32) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, body string) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	add("archive/data.pkl", prog)
	add("archive/byteorder", "little")
	for k, v := range storages {
		add("archive/data/"+k, f32Bytes(v))
	}
	add("archive/version", "3\n")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// webuiProg is webui's Embedding.save dict with the vectors in storage "0".
func webuiProg(shape []int, step int) string {
	return "\x80\x02}(" +
		pyStr("string_to_token") + "}" + pyStr("*") + pyInt(265) + "s" +
		pyStr("string_to_param") + "}" + pyStr("*") + pyTensor("0", shape, true) + "s" +
		pyStr("name") + pyStr("ignored") +
		pyStr("step") + pyInt(step) +
		pyStr("sd_checkpoint") + pyStr("a1b2c3d4") +
		pyStr("sd_checkpoint_name") + "N" +
		"u."
}

// dictProg is {k1: tensor(storage k1), ...} (diffusers concepts, SDXL .pt).
func dictProg(keys []string, shapes [][]int) string {
	s := "\x80\x02}("
	for i, k := range keys {
		s += pyStr(k) + pyTensor(k, shapes[i], false)
	}
	return s + "u."
}

func ramp(n int, start float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = start + float32(i)/8
	}
	return v
}

func TestPyIntHelper(t *testing.T) {
	if !strings.HasPrefix(pyInt(300), "M") {
		t.Fatal("pyInt(300) should use BININT2")
	}
}
