package webui

import (
	"io/fs"
	"strings"
	"testing"
)

func TestFilesAreEmbedded(t *testing.T) {
	for name, want := range map[string]string{
		"index.html": `src="/static/app.js"`,
		"app.js":     "/api/v1/jobs",
		"style.css":  "#generate",
	} {
		b, err := fs.ReadFile(FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not contain %q", name, want)
		}
	}
}
