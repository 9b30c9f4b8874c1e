package review

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// TestPageEscapesEveryValue puts markup into every value the page prints,
// as a hostile access list could: none may reach the page as markup, and
// each must be there, escaped.
func TestPageEscapesEveryValue(t *testing.T) {
	const evil = `<img src=x onerror="alert('+')">&`
	const escaped = `&lt;img src=x onerror=&#34;alert(&#39;&#43;&#39;)&#34;&gt;&amp;`
	p := &Package{System: evil, Provider: evil, Account: evil,
		Snapshot: SnapshotRef{Key: evil, SHA256: evil, StartedAt: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)},
		Status:   evidence.Status(evil), Basis: evil, Baseline: &SnapshotRef{Key: evil, SHA256: evil},
		Changes: Changes{
			Joiners: []Principal{{Type: evil, Name: evil, Granted: []string{evil}}},
			Movers:  []Principal{{Type: evil, Name: evil, Granted: []string{evil}, Removed: []string{evil}}},
			Leavers: []Principal{{Type: evil, Name: evil, Removed: []string{evil}}},
		},
		CSV:  evil,
		Rows: []Row{{ID: evil, PrincipalType: evil, Principal: evil, Grant: evil, Detail: evil, Change: evil}},
	}
	var b bytes.Buffer
	require.NoError(t, writePage(&b, p))
	page := b.String()
	require.NotContains(t, page, "<img")
	require.NotContains(t, page, `onerror="`)
	// title, h1, provider, account, key, sha256, status, basis, the
	// baseline's key and sha256 (10); the joiner's 3 values, the mover's 4,
	// the leaver's 3 (10); the csv; the row's 6 cells and its class (7).
	require.Equal(t, 28, strings.Count(page, escaped), page)
	require.Contains(t, page, "collected 2026-03-01 09:30 UTC.")
	require.Contains(t, page, "<p><b>This access list is "+escaped+": its collection read only part")
}

func TestPageOfACompleteListHasNoWarning(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, writePage(&b, &Package{System: "okta", Status: evidence.StatusComplete}))
	require.NotContains(t, b.String(), "This access list is")
	require.NotContains(t, b.String(), "<h3>Joiners</h3>")
	require.Contains(t, b.String(), "<p>0 joiner(s), 0 mover(s), 0 leaver(s).</p>")
}
