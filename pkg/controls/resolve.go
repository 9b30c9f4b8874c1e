package controls

import (
	"errors"
	"fmt"
	"strings"
)

// Resolve turns a reference as a person writes it into its canonical form.
// The framework prefix is optional and case does not matter: "soc2:CC6.1",
// "CC6.1" and "cc6.1" all give "soc2:CC6.1"; "164.312(b)" gives
// "hipaa:164.312(b)"; "ACME-1" gives "custom:ACME-1".
func (c *Catalog) Resolve(id string) (string, error) {
	s := strings.TrimSpace(id)
	if s == "" {
		return "", errors.New("resolve control: empty reference")
	}
	if framework, rest, ok := strings.Cut(s, ":"); ok {
		f := strings.ToLower(strings.TrimSpace(framework))
		if f != FrameworkSOC2 && f != FrameworkHIPAA && f != FrameworkCustom {
			return "", fmt.Errorf("resolve control %q: unknown framework %q (want soc2, hipaa or custom)", id, framework)
		}
		rest = strings.TrimSpace(rest)
		for _, cr := range c.criteria {
			if cr.Framework == f && strings.EqualFold(cr.ID, rest) {
				return cr.Ref, nil
			}
		}
		return "", fmt.Errorf("resolve control %q: no %s criterion %q in the catalog", id, f, rest)
	}

	var matches []string
	for _, cr := range c.criteria {
		if strings.EqualFold(cr.ID, s) {
			matches = append(matches, cr.Ref)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return "", fmt.Errorf("resolve control %q: not in the catalog (write e.g. soc2:CC6.1, hipaa:164.312(b) or custom:<id>)", id)
	default:
		return "", fmt.Errorf("resolve control %q: ambiguous, matches %s", id, strings.Join(matches, ", "))
	}
}
