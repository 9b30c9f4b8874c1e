package audit_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// Drawing from headers gives the sample that drawing from fully parsed
// members gives: the same population, selection and package bytes.
func TestSampleFromHeadersMatchesFullParse(t *testing.T) {
	env := failingStore(t)
	c := &agenttest.Collector{Accounts: []string{"111122223333", "444455556666"}, Fn: agenttest.Passing}
	env.Fill(t, agenttest.Job("h", "@hourly", c), 30, time.Hour)
	period := audit.Period{From: t0, To: t0.AddDate(0, 0, 3)}
	for _, size := range []int{0, 7} {
		opts := audit.SampleOptions{Control: "soc2:CC6.1", Period: period, Seed: "audit-2026", Size: size, Command: "exhibit sample ..."}
		got, err := audit.DrawSample(t.Context(), env.Store, opts)
		require.NoError(t, err)

		// The reference: every member parsed, the population and the draw
		// as SampleMethod defines them.
		all, err := audit.LoadPeriod(t.Context(), env.Store, period)
		require.NoError(t, err)
		series := map[string]bool{}
		for _, m := range all {
			if contains(m.Snapshot.Controls, opts.Control) {
				series[m.Snapshot.Series] = true
			}
		}
		var pop []audit.Member
		for _, m := range all {
			if contains(m.Snapshot.Controls, opts.Control) || series[m.Snapshot.Series] && m.Snapshot.Status == evidence.StatusFailed {
				pop = append(pop, m)
			}
		}
		require.Len(t, got.Population, len(pop))
		for i, m := range pop {
			g := got.Population[i]
			require.Equal(t, m.Key, g.Key)
			require.Equal(t, m.SHA256, g.SHA256)
			require.Equal(t, m.Snapshot.Series, g.Snapshot.Series)
			require.Equal(t, m.Snapshot.Status, g.Snapshot.Status)
			require.True(t, m.Snapshot.StartedAt.Equal(g.Snapshot.StartedAt))
		}
		want := &audit.Sample{Options: opts, Population: pop, Frequency: got.Frequency, Size: got.Size}
		for _, i := range audit.Draw(len(pop), got.Size, opts.Seed) {
			want.Selected = append(want.Selected, pop[i])
		}
		require.Equal(t, want.Selected, got.Selected, "drawn members are parsed whole, as LoadPeriod gives them")

		var a, b bytes.Buffer
		_, err = audit.WritePackage(t.Context(), env.Store, got, &a)
		require.NoError(t, err)
		_, err = audit.WritePackage(t.Context(), env.Store, want, &b)
		require.NoError(t, err)
		require.Equal(t, b.Bytes(), a.Bytes())
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Only the drawn members are parsed whole: one not in canonical form is
// refused, by name, when drawn; a member whose header does not decode is
// refused wherever it is, since the population cannot be told without it.
func TestSampleParsesTheDrawnMembers(t *testing.T) {
	env := populated(t)
	opts := audit.SampleOptions{Control: "soc2:CC6.1", Period: audit.Period{From: t0, To: t0.AddDate(0, 0, 5)}, Seed: "s", Size: 3}
	s, err := audit.DrawSample(t.Context(), env.Store, opts)
	require.NoError(t, err)
	drawn := map[string]bool{}
	for _, m := range s.Selected {
		drawn[m.Key] = true
		require.NotEmpty(t, m.Snapshot.Findings, "a drawn member is parsed whole")
	}
	var notDrawn, oneDrawn string
	for _, m := range s.Population {
		if drawn[m.Key] {
			oneDrawn = m.Key
		} else {
			notDrawn = m.Key
		}
	}

	// Not canonical (a space), header intact, not drawn: the draw stands
	// (verify is what names it).
	b := mustRead(t, path(env, notDrawn))
	overwrite(t, path(env, notDrawn), []byte(strings.Replace(string(b), `{"agent"`, `{ "agent"`, 1)))
	again, err := audit.DrawSample(t.Context(), env.Store, opts)
	require.NoError(t, err)
	require.Equal(t, memberKeys(s.Selected), memberKeys(again.Selected))
	overwrite(t, path(env, notDrawn), b)

	// The same on a drawn member: refused, by name.
	b = mustRead(t, path(env, oneDrawn))
	overwrite(t, path(env, oneDrawn), []byte(strings.Replace(string(b), `{"agent"`, `{ "agent"`, 1)))
	_, err = audit.DrawSample(t.Context(), env.Store, opts)
	require.ErrorContains(t, err, "snapshot "+oneDrawn+": not canonical JSON (RFC 8785)")
	overwrite(t, path(env, oneDrawn), b)

	// A header that does not decode, drawn or not: refused with Parse's reason.
	b = mustRead(t, path(env, notDrawn))
	overwrite(t, path(env, notDrawn), b[:len(b)/2])
	_, err = audit.DrawSample(t.Context(), env.Store, opts)
	require.ErrorContains(t, err, "snapshot "+notDrawn+": not valid JSON")
	overwrite(t, path(env, notDrawn), []byte(strings.Replace(string(b), `"status":"complete"`, `"status":"fine"`, 1)))
	_, err = audit.DrawSample(t.Context(), env.Store, opts)
	require.ErrorContains(t, err, "snapshot "+notDrawn+`: status: unknown status "fine"`)
}

func memberKeys(ms []audit.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Key)
	}
	return out
}
