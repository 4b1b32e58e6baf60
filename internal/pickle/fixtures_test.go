package pickle

import (
	"testing"

	"sdgo/internal/fixture"
)

// fixturesDir finds the shared reference fixtures (fixture.FindDir:
// $SDGO_FIXTURES, else the nearest shared/fixtures above the working
// directory).
func fixturesDir(t testing.TB) string {
	t.Helper()
	d, err := fixture.FindDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
