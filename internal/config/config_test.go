package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestFromEnvOverridesDefaults(t *testing.T) {
	env := map[string]string{EnvListen: "0.0.0.0:9000", EnvModelsDir: "/m", EnvAPIAuth: "a:b", EnvCORSOrigin: "http://x, ,http://y"}
	c := FromEnv(func(k string) string { return env[k] })
	if c.Listen != "0.0.0.0:9000" || c.ModelsDir != "/m" || c.OutputsDir != "outputs" || c.APIAuth != "a:b" {
		t.Errorf("FromEnv = %+v", c)
	}
	if strings.Join(c.CORSOrigins, "|") != "http://x|http://y" {
		t.Errorf("CORS origins = %q", c.CORSOrigins)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	if d := FromEnv(func(string) string { return "" }); d.Listen != "127.0.0.1:7860" || d.CORSOrigins != nil {
		t.Errorf("defaults = %+v", d)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" = valid
	}{
		{"default", func(*Config) {}, ""},
		{"no port", func(c *Config) { c.Listen = "localhost" }, "HOST:PORT"},
		{"bad port", func(c *Config) { c.Listen = ":99999" }, "bad port"},
		{"empty models", func(c *Config) { c.ModelsDir = "" }, "models dir"},
		{"bad auth", func(c *Config) { c.APIAuth = "user" }, "user:password"},
		{"zero steps", func(c *Config) { c.Limits.MaxSteps = 0 }, "max steps"},
		{"odd size", func(c *Config) { c.Limits.MaxWidth = 1001 }, "multiples of 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.edit(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestParseAuth(t *testing.T) {
	got, err := ParseAuth("a:1,b:two:colons")
	if err != nil || got["a"] != "1" || got["b"] != "two:colons" || len(got) != 2 {
		t.Fatalf("ParseAuth = %v, %v", got, err)
	}
	if m, err := ParseAuth(""); m != nil || err != nil {
		t.Fatalf("empty: %v %v", m, err)
	}
	if _, err := ParseAuth("a:secret,b"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("bad pair error %v must not leak a password", err)
	}
}

func TestFolders(t *testing.T) {
	c := Config{ModelsDir: "m", OutputsDir: "o"}
	for got, want := range map[string]string{
		c.CheckpointDir(): "m/Stable-diffusion", c.VAEDir(): "m/VAE", c.LoraDir(): "m/Lora",
		c.ESRGANDir(): "m/ESRGAN", c.EmbeddingsDir(): "m/embeddings", c.Txt2ImgOutputDir(): "o/txt2img-images", c.Img2ImgOutputDir(): "o/img2img-images",
	} {
		if got != filepath.FromSlash(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
