package webui

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// FS returns the page's files: index.html, app.js and style.css at its root.
func FS() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded folder is always there
	}
	return sub
}
