package modelstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// DefaultEndpoint is the Hugging Face hub.
const DefaultEndpoint = "https://huggingface.co"

// Options configure a download.
type Options struct {
	Endpoint string       // hub base URL; "" = DefaultEndpoint
	Token    string       // bearer token (HF_TOKEN); "" = anonymous
	Dir      string       // the models folder (webui layout)
	Kind     Kind         // which folder to save into; "" = Checkpoint
	Force    bool         // replace an existing complete file
	Attempts int          // tries before giving up on a broken connection; 0 = 5
	Client   *http.Client // nil = a default client
}

// Result describes a finished download.
type Result struct {
	Path     string // the final file
	Repo     string
	File     string // the file's path inside the repository
	Size     int64
	SHA256   string // hex digest of the downloaded bytes
	Verified bool   // the digest matched the one the server announced
	Resumed  bool   // part of the file came from an earlier .part
}

// ParseRef splits "owner/name[/path/in/repo]" into the repository and the
// file (empty when only the repository is given).
func ParseRef(ref string) (repo, file string, err error) {
	parts := strings.SplitN(strings.Trim(ref, " "), "/", 3)
	if len(parts) < 2 {
		return "", "", fmt.Errorf("%w %q: want OWNER/REPO or OWNER/REPO/FILE", ErrBadName, ref)
	}
	repo = parts[0] + "/" + parts[1]
	if len(parts) == 3 {
		file = parts[2]
	}
	if err := checkRepo(repo); err != nil {
		return "", "", err
	}
	if file != "" {
		if err := CheckName(file, true); err != nil {
			return "", "", err
		}
	}
	return repo, file, nil
}

var repoRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)

func checkRepo(repo string) error {
	if !repoRE.MatchString(repo) || strings.Contains(repo, "..") {
		return fmt.Errorf("%w: repository %q: want OWNER/NAME", ErrBadName, repo)
	}
	return nil
}

// Pull downloads file from the Hugging Face repository repo into the
// kind's folder under opts.Dir and returns the final path. With file ""
// it picks the repository's single-file .safetensors checkpoint. progress,
// if not nil, is called with bytes done and the total (-1 when unknown).
func Pull(ctx context.Context, opts Options, repo, file string, progress func(done, total int64)) (string, error) {
	r, err := PullFile(ctx, opts, repo, file, progress)
	return r.Path, err
}

// PullFile is Pull returning the details of the download.
func PullFile(ctx context.Context, opts Options, repo, file string, progress func(done, total int64)) (Result, error) {
	if err := checkRepo(repo); err != nil {
		return Result{}, err
	}
	c := newClient(opts)
	if file == "" {
		f, err := c.pickCheckpoint(ctx, repo)
		if err != nil {
			return Result{}, err
		}
		file = f
	}
	if err := CheckName(file, true); err != nil {
		return Result{}, err
	}
	kind := opts.Kind
	if kind == "" {
		kind = Checkpoint
	}
	folder := filepath.Join(opts.Dir, kind.Folder())
	dest := filepath.Join(folder, path.Base(file))
	if _, err := os.Stat(dest); err == nil && !opts.Force {
		return Result{Path: dest}, fmt.Errorf("%w: %s (use --force to download it again)", ErrExists, dest)
	}
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return Result{}, fmt.Errorf("modelstore: pull: %w", err)
	}
	rawURL := c.endpoint + "/" + repo + "/resolve/main/" + escapePath(file)
	r, err := c.download(ctx, rawURL, dest, progress)
	r.Repo, r.File = repo, file
	return r, err
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// client is one Pull's HTTP side.
type client struct {
	endpoint string
	token    string
	http     *http.Client
	attempts int
}

func newClient(opts Options) *client {
	c := &client{endpoint: strings.TrimRight(opts.Endpoint, "/"), token: opts.Token, attempts: opts.Attempts}
	if c.endpoint == "" {
		c.endpoint = DefaultEndpoint
	}
	if c.attempts <= 0 {
		c.attempts = 5
	}
	hc := http.Client{}
	if opts.Client != nil {
		hc = *opts.Client
	}
	c.http = &hc
	return c
}

// get sends a GET with the token; linked collects the X-Linked-* headers
// of a redirect (the hub puts the LFS sha256 there, the CDN does not).
func (c *client) get(ctx context.Context, rawURL string, header http.Header, linked http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("modelstore: %s: %w", rawURL, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := *c.http
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		if r.Response != nil && linked != nil {
			for _, k := range []string{"X-Linked-Etag", "X-Linked-Size"} {
				if v := r.Response.Header.Get(k); v != "" {
					linked.Set(k, v)
				}
			}
		}
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("modelstore: GET %s: %w", rawURL, err)
	}
	if err := c.statusError(resp, rawURL); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// statusError turns a failing status into an error that says what to do.
func (c *client) statusError(resp *http.Response, rawURL string) error {
	switch {
	case resp.StatusCode < 300 || resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		if c.token == "" {
			return fmt.Errorf("%w: HTTP %d for %s: the repository is private or gated; set HF_TOKEN to a Hugging Face access token (and accept the model's licence on its page)", ErrAuth, resp.StatusCode, rawURL)
		}
		return fmt.Errorf("%w: HTTP %d for %s: the token in HF_TOKEN was refused; check it is valid and has access to this repository (gated models need their licence accepted)", ErrAuth, resp.StatusCode, rawURL)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: HTTP 404 for %s: check the repository and file name (and HF_TOKEN for private repositories)", ErrNotFound, rawURL)
	}
	return fmt.Errorf("modelstore: GET %s: HTTP %s", rawURL, resp.Status)
}

// pickCheckpoint lists the repository's files and picks its single-file
// checkpoint: the only top-level .safetensors, or the only fp16 one.
func (c *client) pickCheckpoint(ctx context.Context, repo string) (string, error) {
	rawURL := c.endpoint + "/api/models/" + repo
	resp, err := c.get(ctx, rawURL, nil, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var info struct {
		Siblings []struct {
			RFilename string `json:"rfilename"`
		} `json:"siblings"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&info); err != nil {
		return "", fmt.Errorf("modelstore: %s: bad listing: %w", rawURL, err)
	}
	var cands, fp16 []string
	for _, s := range info.Siblings {
		if strings.Contains(s.RFilename, "/") || !strings.EqualFold(path.Ext(s.RFilename), ".safetensors") {
			continue
		}
		cands = append(cands, s.RFilename)
		if strings.Contains(strings.ToLower(s.RFilename), "fp16") {
			fp16 = append(fp16, s.RFilename)
		}
	}
	switch {
	case len(cands) == 1:
		return cands[0], nil
	case len(fp16) == 1:
		return fp16[0], nil
	case len(cands) == 0:
		return "", fmt.Errorf("%w: %s has no top-level .safetensors checkpoint (diffusers folders are not single files); name the file: sdgo pull %s/FILE", ErrNotFound, repo, repo)
	}
	return "", fmt.Errorf("%w: %s has several checkpoints, pick one: %s", ErrBadName, repo, strings.Join(cands, ", "))
}

// expectedSHA returns the sha256 the server announced, or "" when its
// ETag is something else (a git sha1 for small files, an opaque tag).
func expectedSHA(h ...http.Header) string {
	for _, hh := range h {
		for _, k := range []string{"X-Linked-Etag", "Etag"} {
			v := strings.TrimPrefix(strings.TrimSpace(hh.Get(k)), "W/")
			v = strings.ToLower(strings.Trim(v, `"`))
			if len(v) == 64 {
				if _, err := hex.DecodeString(v); err == nil {
					return v
				}
			}
		}
	}
	return ""
}

// download fetches rawURL into dest via dest+".part", resuming a partial
// file with a Range request and retrying broken connections.
func (c *client) download(ctx context.Context, rawURL, dest string, progress func(done, total int64)) (Result, error) {
	part := dest + ".part"
	res := Result{Path: dest}
	var lastErr error
	for attempt := 0; attempt < c.attempts; attempt++ {
		retry, err := c.fetchOnce(ctx, rawURL, part, &res, progress)
		if err == nil {
			return res, c.finish(part, dest, &res)
		}
		lastErr = err
		if ctx.Err() != nil || !retry {
			break
		}
	}
	return res, lastErr
}

// fetchOnce makes one request and appends its body to part. It reports
// whether the error is a broken transfer worth retrying.
func (c *client) fetchOnce(ctx context.Context, rawURL, part string, res *Result, progress func(done, total int64)) (retry bool, err error) {
	var offset int64
	if fi, err := os.Stat(part); err == nil {
		offset = fi.Size()
	}
	hdr := http.Header{}
	if offset > 0 {
		hdr.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	linked := http.Header{}
	resp, err := c.get(ctx, rawURL, hdr, linked)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	want := expectedSHA(linked, resp.Header)
	total := int64(-1)
	flags := os.O_CREATE | os.O_WRONLY
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			return false, fmt.Errorf("modelstore: GET %s: asked for bytes from %d, got Content-Range %q", rawURL, offset, resp.Header.Get("Content-Range"))
		}
		total, flags = size, flags|os.O_APPEND
		res.Resumed = true
	case http.StatusRequestedRangeNotSatisfiable:
		// The .part may already hold the whole file; finish checks it.
		if _, size, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && size == offset {
			res.Size, res.SHA256 = offset, want
			return false, nil
		}
		os.Remove(part)
		return true, fmt.Errorf("modelstore: GET %s: server refused to resume at byte %d; starting over", rawURL, offset)
	default: // 200: the whole file from the start
		offset, total, flags = 0, resp.ContentLength, flags|os.O_TRUNC
	}
	if total < 0 {
		if s, err := strconv.ParseInt(linked.Get("X-Linked-Size"), 10, 64); err == nil && resp.StatusCode == http.StatusOK {
			total = s
		}
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return false, fmt.Errorf("modelstore: pull: %w", err)
	}
	n, copyErr := io.Copy(f, &progressReader{r: resp.Body, done: offset, total: total, fn: progress})
	syncErr := f.Sync()
	closeErr := errors.Join(syncErr, f.Close())
	if copyErr != nil {
		return ctx.Err() == nil, fmt.Errorf("modelstore: GET %s: transfer broke after %d bytes (run again to resume): %w", rawURL, offset+n, copyErr)
	}
	if closeErr != nil {
		return false, fmt.Errorf("modelstore: pull: %w", closeErr)
	}
	if total >= 0 && offset+n != total {
		return true, fmt.Errorf("modelstore: GET %s: got %d of %d bytes (run again to resume)", rawURL, offset+n, total)
	}
	res.Size, res.SHA256 = offset+n, want
	return false, nil
}

// finish hashes the .part, compares it with the announced sha256 and
// renames it into place. On a mismatch the .part is removed.
func (c *client) finish(part, dest string, res *Result) error {
	want := res.SHA256
	got, err := fileSHA256(part)
	if err != nil {
		return err
	}
	res.SHA256 = got
	if want != "" {
		if got != want {
			os.Remove(part)
			return fmt.Errorf("%w: %s: got %s, the server announced %s; the download was discarded", ErrChecksum, filepath.Base(dest), got, want)
		}
		res.Verified = true
	}
	if err := os.Rename(part, dest); err != nil {
		return fmt.Errorf("modelstore: pull: %w", err)
	}
	return nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("modelstore: hash: %w", err)
	}
	defer f.Close()
	var h hash.Hash = sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("modelstore: hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// parseContentRange reads "bytes START-END/SIZE" or "bytes */SIZE".
func parseContentRange(s string) (start, size int64, ok bool) {
	s, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	size, err := strconv.ParseInt(sz, 10, 64)
	if err != nil {
		size = -1
	}
	if rng == "*" {
		return 0, size, err == nil
	}
	a, _, found := strings.Cut(rng, "-")
	start, err2 := strconv.ParseInt(a, 10, 64)
	return start, size, found && err2 == nil
}

// progressReader reports bytes read so far.
type progressReader struct {
	r           io.Reader
	done, total int64
	fn          func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.fn != nil && n > 0 {
		p.fn(p.done, p.total)
	}
	return n, err
}
