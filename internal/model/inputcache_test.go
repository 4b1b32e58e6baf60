package model

import "testing"

func TestInputCacheReusesOnlyTheSameSlice(t *testing.T) {
	var c inputCache
	a := []float32{1, 2, 3, 4}
	ta := c.get(a, []int{2, 2})
	if c.get(a, []int{2, 2}) != ta {
		t.Error("the same slice did not reuse its tensor")
	}
	if c.get(a, []int{4}) == ta {
		t.Error("another shape reused the tensor")
	}
	b := append([]float32(nil), a...)
	if c.get(b, []int{2, 2}) == ta {
		t.Error("an equal but different slice reused the tensor")
	}
	if c.get(a[:2], []int{2}) == ta {
		t.Error("a shorter view reused the tensor")
	}
	for i := 0; i < inputCacheSize; i++ {
		c.get(make([]float32, 4), []int{4})
	}
	if c.get(a, []int{2, 2}) == ta {
		t.Error("an evicted entry was still returned")
	}
}
