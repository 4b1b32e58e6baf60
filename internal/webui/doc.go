// Package webui holds the browser page sdgo serves at / as embedded static
// files: one HTML page, one script and one stylesheet. The page talks to the
// server only through its public HTTP APIs (/sdapi/v1 lists and the
// /api/v1 job API). No logic lives here in Go; it imports only embed and
// io/fs.
package webui
