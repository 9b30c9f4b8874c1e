package controls

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolve(t *testing.T) {
	c, err := mustDefault(t).WithCustom([]Custom{{ID: "ACME-1", Title: "t", Checks: []string{"aws.iam.root_mfa"}}})
	require.NoError(t, err)
	tests := []struct {
		in, want, err string
	}{
		{in: "soc2:CC6.1", want: "soc2:CC6.1"},
		{in: "CC6.1", want: "soc2:CC6.1"},
		{in: "cc6.1", want: "soc2:CC6.1"},
		{in: "SOC2:cc6.1", want: "soc2:CC6.1"},
		{in: " CC8.1 ", want: "soc2:CC8.1"},
		{in: "CC6.4", want: "soc2:CC6.4"},
		{in: "hipaa:164.312(b)", want: "hipaa:164.312(b)"},
		{in: "164.312(b)", want: "hipaa:164.312(b)"},
		{in: "164.312(a)(2)(IV)", want: "hipaa:164.312(a)(2)(iv)"},
		{in: "hipaa:164.316(b)(2)(i)", want: "hipaa:164.316(b)(2)(i)"},
		{in: "A1.3", want: "soc2:A1.3"},
		{in: "a1.2", want: "soc2:A1.2"},
		{in: "164.308(a)(7)(ii)(b)", want: "hipaa:164.308(a)(7)(ii)(B)"},
		{in: "custom:ACME-1", want: "custom:ACME-1"},
		{in: "ACME-1", want: "custom:ACME-1"},
		{in: "acme-1", want: "custom:ACME-1"},
		{in: "", err: "resolve control: empty reference"},
		{in: "  ", err: "resolve control: empty reference"},
		{in: "CC9.9", err: `resolve control "CC9.9": not in the catalog (write e.g. soc2:CC6.1, hipaa:164.312(b) or custom:<id>)`},
		{in: "soc2:164.312(b)", err: `resolve control "soc2:164.312(b)": no soc2 criterion "164.312(b)" in the catalog`},
		{in: "iso:A.5.1", err: `resolve control "iso:A.5.1": unknown framework "iso" (want soc2, hipaa or custom)`},
		{in: "custom:", err: `resolve control "custom:": no custom criterion "" in the catalog`},
		{in: "164.312", err: `resolve control "164.312": not in the catalog`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := c.Resolve(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestResolveEveryCriterion(t *testing.T) {
	c := mustDefault(t)
	for _, cr := range c.Criteria() {
		for _, in := range []string{cr.Ref, cr.ID} {
			got, err := c.Resolve(in)
			require.NoError(t, err, in)
			require.Equal(t, cr.Ref, got, in)
		}
	}
}
