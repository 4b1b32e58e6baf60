package pipeline

import (
	"testing"

	"sdgo/internal/sample"
)

// TestPrefetchKeepsOrder checks that drawing ahead in the background gives
// the stream's values in the stream's order, for batches of one and two
// images.
func TestPrefetchKeepsOrder(t *testing.T) {
	for _, seeds := range [][]int64{{3}, {3, 4}} {
		sp := sample.SeedParams{Source: sample.SourceNV, Seeds: seeds}
		direct, err := sample.NewImageRNG([3]int{4, 64, 64}, sp)
		if err != nil {
			t.Fatal(err)
		}
		ahead, _ := sample.NewImageRNG([3]int{4, 64, 64}, sp)
		p := prefetch(ahead)
		for d := 0; d < 5; d++ {
			want, _ := direct.Next(0, 0)
			got, err := p.Next(0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d seeds, draw %d: %d values, want %d", len(seeds), d, len(got), len(want))
			}
			for j := range want {
				if got[j] != want[j] {
					t.Fatalf("%d seeds, draw %d, value %d: %v, want %v", len(seeds), d, j, got[j], want[j])
				}
			}
		}
	}
}
