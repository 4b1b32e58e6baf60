package pickle

import "testing"

// FuzzPickle runs the machine on arbitrary programs with the torch storage
// loader: it must never panic, hang or allocate without bound, and whatever
// it accepts must be walkable.
func FuzzPickle(f *testing.F) {
	f.Add([]byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03."))
	f.Add([]byte(tensorProg(2, "K\x02\x85", "K\x01\x85")))
	f.Add([]byte("\x80\x02(K\x05M\x00\x01J\xff\xff\xff\xff\x8a\x01\xff\x8a\x00I42\nL-7L\ntq\x00."))
	f.Add([]byte("\x80\x02]q\x00(K\x01h\x00K\x02e0h\x00."))
	f.Add([]byte("\x80\x04\x8f(K\x01K\x02\x90."))
	f.Add([]byte("\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00\xc3\xbf\x8c\x06latin1\x86R."))
	f.Fuzz(func(t *testing.T, prog []byte) {
		lim := Limits{MaxString: 1 << 20, MaxObjects: 1 << 20}
		v, err := Unpickle(prog, storageLoader(nil), lim)
		if err != nil {
			return
		}
		sd := StateDict(v)
		if sd == nil {
			return
		}
		for i := 0; i < sd.Len(); i++ {
			_, val := sd.Entry(i)
			if tt, ok := val.(*Tensor); ok {
				_ = tt.Contiguous()
				if tt.NumElements() < 0 {
					t.Fatalf("negative element count for %v", tt.Shape)
				}
			}
		}
	})
}
