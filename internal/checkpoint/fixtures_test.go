package checkpoint

import (
	"os"
	"path/filepath"
	"testing"
)

// fixturesDir finds the shared reference fixtures: $SDGO_FIXTURES, else the
// first shared/fixtures folder found walking up from the working directory.
func fixturesDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("SDGO_FIXTURES"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		c := filepath.Join(d, "shared", "fixtures")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	t.Skip("shared/fixtures not found (set SDGO_FIXTURES)")
	return ""
}
