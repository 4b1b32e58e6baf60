package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client talks to an sdgo server (or, for the /sdapi/v1 calls, to webui).
// The zero value is not usable; make one with NewClient.
type Client struct {
	BaseURL            string       // "http://127.0.0.1:7860"
	HTTP               *http.Client // nil = http.DefaultClient
	Username, Password string       // HTTP basic auth, when the server has --api-auth
}

// NewClient returns a client for the server at baseURL.
func NewClient(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/")}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// request builds a request with the client's auth.
func (c *Client) request(ctx context.Context, method, path string, in any) (*http.Request, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("sdgo api: %s %s: encode: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, fmt.Errorf("sdgo api: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Username != "" || c.Password != "" {
		req.SetBasicAuth(c.Username, c.Password)
	}
	return req, nil
}

// send runs a request and returns the response when its status is 2xx,
// else the server's *Error.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("sdgo api: %s %s: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := &Error{Status: resp.StatusCode}
	if json.Unmarshal(b, e) != nil || (e.Kind == "" && e.Detail == "") {
		e.Kind, e.Detail = http.StatusText(resp.StatusCode), strings.TrimSpace(string(b))
	}
	return nil, e
}

// do sends in as JSON (when not nil) and decodes the response into out
// (when not nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	req, err := c.request(ctx, method, path, in)
	if err != nil {
		return err
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("sdgo api: %s %s: decode: %w", method, path, err)
	}
	return nil
}

// Txt2Img generates images and waits for them (POST /sdapi/v1/txt2img).
func (c *Client) Txt2Img(ctx context.Context, r Txt2ImgRequest) (*Txt2ImgResponse, error) {
	var out Txt2ImgResponse
	return &out, c.do(ctx, http.MethodPost, "/sdapi/v1/txt2img", r, &out)
}

// Img2Img generates images from images and waits (POST /sdapi/v1/img2img).
func (c *Client) Img2Img(ctx context.Context, r Img2ImgRequest) (*Img2ImgResponse, error) {
	var out Img2ImgResponse
	return &out, c.do(ctx, http.MethodPost, "/sdapi/v1/img2img", r, &out)
}

// Progress reports the running job (GET /sdapi/v1/progress).
func (c *Client) Progress(ctx context.Context, skipCurrentImage bool) (*Progress, error) {
	var out Progress
	return &out, c.do(ctx, http.MethodGet, fmt.Sprintf("/sdapi/v1/progress?skip_current_image=%t", skipCurrentImage), nil, &out)
}

// Interrupt stops the running job (POST /sdapi/v1/interrupt).
func (c *Client) Interrupt(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/sdapi/v1/interrupt", nil, nil)
}

// Skip skips the batch being sampled (POST /sdapi/v1/skip).
func (c *Client) Skip(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/sdapi/v1/skip", nil, nil)
}

// Options returns every setting (GET /sdapi/v1/options).
func (c *Client) Options(ctx context.Context) (map[string]any, error) {
	var out map[string]any
	return out, c.do(ctx, http.MethodGet, "/sdapi/v1/options", nil, &out)
}

// SetOptions changes some settings (POST /sdapi/v1/options); setting
// sd_model_checkpoint loads that model before it returns.
func (c *Client) SetOptions(ctx context.Context, opts map[string]any) error {
	return c.do(ctx, http.MethodPost, "/sdapi/v1/options", opts, nil)
}

// Samplers lists the samplers (GET /sdapi/v1/samplers).
func (c *Client) Samplers(ctx context.Context) ([]Sampler, error) {
	var out []Sampler
	return out, c.do(ctx, http.MethodGet, "/sdapi/v1/samplers", nil, &out)
}

// Schedulers lists the schedule types (GET /sdapi/v1/schedulers).
func (c *Client) Schedulers(ctx context.Context) ([]Scheduler, error) {
	var out []Scheduler
	return out, c.do(ctx, http.MethodGet, "/sdapi/v1/schedulers", nil, &out)
}

// SDModels lists the checkpoints (GET /sdapi/v1/sd-models).
func (c *Client) SDModels(ctx context.Context) ([]SDModel, error) {
	var out []SDModel
	return out, c.do(ctx, http.MethodGet, "/sdapi/v1/sd-models", nil, &out)
}

// RefreshCheckpoints rescans the checkpoint folder.
func (c *Client) RefreshCheckpoints(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/sdapi/v1/refresh-checkpoints", nil, nil)
}

// PNGInfo reads the infotext of a base64 PNG (POST /sdapi/v1/png-info).
func (c *Client) PNGInfo(ctx context.Context, b64 string) (*PNGInfoResponse, error) {
	var out PNGInfoResponse
	return &out, c.do(ctx, http.MethodPost, "/sdapi/v1/png-info", PNGInfoRequest{Image: b64}, &out)
}

// Submit queues a job and returns at once (POST /api/v1/jobs).
func (c *Client) Submit(ctx context.Context, r Txt2ImgRequest) (*Job, error) {
	var out Job
	return &out, c.do(ctx, http.MethodPost, "/api/v1/jobs", r, &out)
}

// SubmitImg2Img queues an img2img job and returns at once (POST
// /api/v1/jobs with init_images).
func (c *Client) SubmitImg2Img(ctx context.Context, r Img2ImgRequest) (*Job, error) {
	var out Job
	return &out, c.do(ctx, http.MethodPost, "/api/v1/jobs", r, &out)
}

// Job returns a job's state (GET /api/v1/jobs/{id}).
func (c *Client) Job(ctx context.Context, id string) (*Job, error) {
	var out Job
	return &out, c.do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id), nil, &out)
}

// Cancel cancels a queued or running job (DELETE /api/v1/jobs/{id}).
func (c *Client) Cancel(ctx context.Context, id string) (*Job, error) {
	var out Job
	return &out, c.do(ctx, http.MethodDelete, "/api/v1/jobs/"+url.PathEscape(id), nil, &out)
}

// Image returns the PNG bytes of image n of a job.
func (c *Client) Image(ctx context.Context, id string, n int) ([]byte, error) {
	req, err := c.request(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%s/images/%d", url.PathEscape(id), n), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// Events follows a job's server-sent events (GET /api/v1/jobs/{id}/events)
// and calls fn with each state until the job finishes, fn returns an error,
// or ctx ends. It returns the last state seen.
func (c *Client) Events(ctx context.Context, id string, fn func(Job) error) (*Job, error) {
	req, err := c.request(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id)+"/events", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var last *Job
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var j Job
		if err := json.Unmarshal([]byte(data), &j); err != nil {
			return last, fmt.Errorf("sdgo api: events %s: %w", id, err)
		}
		last = &j
		if fn != nil {
			if err := fn(j); err != nil {
				return last, err
			}
		}
		if j.Status.Finished() {
			return last, nil
		}
	}
	if err := sc.Err(); err != nil {
		return last, fmt.Errorf("sdgo api: events %s: %w", id, err)
	}
	if ctx.Err() != nil {
		return last, ctx.Err()
	}
	return last, fmt.Errorf("sdgo api: events %s: stream ended before the job finished", id)
}

// Wait follows a job until it finishes and returns its final state.
func (c *Client) Wait(ctx context.Context, id string) (*Job, error) {
	return c.Events(ctx, id, nil)
}
