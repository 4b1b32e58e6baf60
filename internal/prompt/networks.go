package prompt

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Network is one extra-network tag, <kind:name:arg:...>, such as
// <lora:detail:0.8> or <lora:detail:te=0.5:unet=0.3>.
type Network struct {
	Kind  string            // "lora", "hypernet", ... as written
	Name  string            // the first positional argument
	Args  []string          // the other positional arguments, as written
	Named map[string]string // arguments written key=value (nil if none)
}

// ExtractNetworks cuts every <kind:args> tag out of prompt (webui's
// extra_networks.parse_prompt, pattern <(\w+):([^>]+)>) and returns the rest
// of the prompt and the tags in order. The arguments are split on ":"; one
// with exactly one "=" is named, any other positional. Nothing else in the
// prompt changes, so brackets or [a:b:when] around a tag have no effect on
// it, as in webui.
func ExtractNetworks(prompt string) (string, []Network) {
	var out strings.Builder
	var nets []Network
	last := 0
	for i := 0; i < len(prompt); i++ {
		if prompt[i] != '<' {
			continue
		}
		kind, args, end, ok := networkTag(prompt, i)
		if !ok {
			continue
		}
		out.WriteString(prompt[last:i])
		nets = append(nets, newNetwork(kind, strings.Split(args, ":")))
		last = end
		i = end - 1
	}
	if nets == nil {
		return prompt, nil
	}
	out.WriteString(prompt[last:])
	return out.String(), nets
}

// networkTag matches <(\w+):([^>]+)> at s[i] == '<'.
func networkTag(s string, i int) (kind, args string, end int, ok bool) {
	j := i + 1
	for j < len(s) {
		r, n := utf8.DecodeRuneInString(s[j:])
		if !pyWord(r) {
			break
		}
		j += n
	}
	if j == i+1 || j >= len(s) || s[j] != ':' {
		return "", "", 0, false
	}
	k := strings.IndexByte(s[j+1:], '>')
	if k < 1 {
		return "", "", 0, false
	}
	return s[i+1 : j], s[j+1 : j+1+k], j + 2 + k, true
}

func newNetwork(kind string, items []string) Network {
	n := Network{Kind: kind}
	var positional []string
	for _, it := range items {
		if strings.Count(it, "=") == 1 {
			k, v, _ := strings.Cut(it, "=")
			if n.Named == nil {
				n.Named = make(map[string]string)
			}
			n.Named[k] = v
			continue
		}
		positional = append(positional, it)
	}
	if len(positional) > 0 {
		n.Name, n.Args = positional[0], positional[1:]
	}
	return n
}

// LoraMultipliers reads a <lora:...> tag's strengths the way webui's Lora
// extension does: te is the first argument (default def) or te=; unet is the
// second argument (default te) or unet=; dyn is the third argument or dyn=
// (0 when absent).
func (n Network) LoraMultipliers(def float64) (te, unet float64, dyn int, err error) {
	num := func(what, s string) (float64, error) {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return 0, fmt.Errorf("prompt: <%s:%s>: %s multiplier %q is not a number", n.Kind, n.Name, what, s)
		}
		return v, nil
	}
	te = def
	if len(n.Args) > 0 {
		if te, err = num("te", n.Args[0]); err != nil {
			return
		}
	}
	if s, ok := n.Named["te"]; ok {
		if te, err = num("te", s); err != nil {
			return
		}
	}
	unet = te
	if len(n.Args) > 1 {
		if unet, err = num("unet", n.Args[1]); err != nil {
			return
		}
	}
	if s, ok := n.Named["unet"]; ok {
		if unet, err = num("unet", s); err != nil {
			return
		}
	}
	dynStr, hasDyn := n.Named["dyn"]
	if !hasDyn && len(n.Args) > 2 {
		dynStr, hasDyn = n.Args[2], true
	}
	if hasDyn {
		if dyn, err = strconv.Atoi(strings.TrimSpace(dynStr)); err != nil {
			err = fmt.Errorf("prompt: <%s:%s>: dyn %q is not an integer", n.Kind, n.Name, dynStr)
		}
	}
	return
}
