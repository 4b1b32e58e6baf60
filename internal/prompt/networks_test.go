package prompt

import (
	"reflect"
	"testing"
)

func TestExtractNetworks(t *testing.T) {
	for _, tc := range []struct {
		in   string
		rest string
		want []Network
	}{
		{"a cat", "a cat", nil},
		{"a <lora:detail:0.8> cat", "a  cat", []Network{{Kind: "lora", Name: "detail", Args: []string{"0.8"}}}},
		{"<lora:x:te=0.5:unet=0.3>(y:1.2)", "(y:1.2)", []Network{{Kind: "lora", Name: "x", Args: []string{}, Named: map[string]string{"te": "0.5", "unet": "0.3"}}}},
		{"[<lora:x:1>:2] <hypernet:h:0.5>", "[:2] ", []Network{
			{Kind: "lora", Name: "x", Args: []string{"1"}},
			{Kind: "hypernet", Name: "h", Args: []string{"0.5"}},
		}},
		{"<lora:a=b=c:1>", "", []Network{{Kind: "lora", Name: "a=b=c", Args: []string{"1"}}}},
		{"<lora:>", "<lora:>", nil},
		{"<:x>", "<:x>", nil},
		{"<lora x:1>", "<lora x:1>", nil},
		{"<lora:x:1", "<lora:x:1", nil},
		{"<a<lora:x:1>", "<a", []Network{{Kind: "lora", Name: "x", Args: []string{"1"}}}},
		{"<a:<lora:x:1>>", ">", []Network{{Kind: "a", Name: "<lora", Args: []string{"x", "1"}}}},
	} {
		rest, nets := ExtractNetworks(tc.in)
		if rest != tc.rest || !reflect.DeepEqual(nets, tc.want) {
			t.Errorf("ExtractNetworks(%q) = %q %#v\nwant %q %#v", tc.in, rest, nets, tc.rest, tc.want)
		}
	}
}

func TestLoraMultipliers(t *testing.T) {
	for _, tc := range []struct {
		tag      string
		te, unet float64
		dyn      int
		wantErr  bool
	}{
		{"<lora:x>", 1, 1, 0, false},
		{"<lora:x:0.7>", 0.7, 0.7, 0, false},
		{"<lora:x:0.7:0.2>", 0.7, 0.2, 0, false},
		{"<lora:x:0.7:0.2:8>", 0.7, 0.2, 8, false},
		{"<lora:x:te=0.5>", 0.5, 0.5, 0, false},
		{"<lora:x:unet=0.3>", 1, 0.3, 0, false},
		{"<lora:x:0.9:te=0.5:dyn=4>", 0.5, 0.5, 4, false},
		{"<lora:x: 0.5 >", 0.5, 0.5, 0, false},
		{"<lora:x:abc>", 0, 0, 0, true},
		{"<lora:x:1:2:z>", 0, 0, 0, true},
	} {
		_, nets := ExtractNetworks(tc.tag)
		if len(nets) != 1 {
			t.Fatalf("%s: %d tags", tc.tag, len(nets))
		}
		te, unet, dyn, err := nets[0].LoraMultipliers(1)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%s: no error", tc.tag)
			}
			continue
		}
		if err != nil || te != tc.te || unet != tc.unet || dyn != tc.dyn {
			t.Errorf("%s: te %v unet %v dyn %v err %v; want %v %v %v", tc.tag, te, unet, dyn, err, tc.te, tc.unet, tc.dyn)
		}
	}
}
