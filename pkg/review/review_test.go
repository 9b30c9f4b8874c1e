package review

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func snap(typ, series string, recs ...evidence.Record) *evidence.Snapshot {
	return &evidence.Snapshot{Series: series, Collector: evidence.CollectorRef{Type: typ, ID: typ}, Records: recs}
}

func rec(typ, id string, attrs map[string]any) evidence.Record {
	return evidence.Record{Type: typ, ID: id, Attributes: attrs}
}

// Every access-list record type of the collectors becomes principal ×
// grant rows, with ids that do not change from one review to the next.
func TestRowsOfEverySource(t *testing.T) {
	cases := []struct {
		name string
		s    *evidence.Snapshot
		want []string
	}{
		{"github", snap("github.access", "github.access/acme",
			rec("github.member", "acme/alice", map[string]any{"login": "alice", "role": "admin"}),
			rec("github.outside_collaborator", "acme/olga", map[string]any{"login": "olga"}),
			rec("github.repository_admins", "acme/api", map[string]any{"admins": []any{"alice", "bob"}})),
			[]string{"user alice org:admin", "user alice repository_admin:acme/api", "user bob repository_admin:acme/api", "user olga outside_collaborator"}},
		{"aws iam", snap("aws.iam", "aws.iam/111122223333",
			rec("aws.iam.user", "arn:aws:iam::111122223333:user/ci", map[string]any{"name": "ci", "groups": []any{"deploy"}, "attached_policies": []any{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, "inline_policies": []any{}}),
			rec("aws.iam.user", "arn:aws:iam::111122223333:user/idle", map[string]any{"name": "idle"}),
			rec("aws.iam.role", "arn:aws:iam::111122223333:role/app", map[string]any{"name": "app", "inline_policies": []any{"s3"}})),
			[]string{"role app inline_policy:s3", "user ci group:deploy", "user ci policy:arn:aws:iam::aws:policy/ReadOnlyAccess", "user idle account"}},
		{"identity center", snap("aws.identity_center", "aws.identity_center/111122223333",
			rec("aws.identity_center.user", "u1", map[string]any{"user_name": "alice", "status": "ENABLED", "groups": []any{"admins"}}),
			rec("aws.identity_center.assignment", "a1", map[string]any{"principal_type": "GROUP", "principal_name": "admins", "permission_set": "AdministratorAccess", "account": "444455556666"})),
			[]string{"group admins permission_set:AdministratorAccess@444455556666", "user alice account", "user alice group:admins"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, r := range Rows(c.s) {
				got = append(got, r.PrincipalType+" "+r.Principal+" "+r.Grant)
				require.Equal(t, RowID(c.s.Series, r.PrincipalType, r.Principal, r.Grant), r.ID)
			}
			require.Equal(t, c.want, got)
		})
	}
}

func TestDiffJoinersMoversLeavers(t *testing.T) {
	row := func(who, grant string) Row {
		return Row{ID: RowID("s", "user", who, grant), PrincipalType: "user", Principal: who, Grant: grant}
	}
	prev := []Row{row("a", "x"), row("b", "x"), row("c", "x")}
	cur := []Row{row("a", "x"), row("b", "y"), row("d", "x")}
	ch := Diff(prev, cur)
	require.Equal(t, []Principal{{Type: "user", Name: "d", Granted: []string{"x"}}}, ch.Joiners)
	require.Equal(t, []Principal{{Type: "user", Name: "b", Granted: []string{"y"}, Removed: []string{"x"}}}, ch.Movers)
	require.Equal(t, []Principal{{Type: "user", Name: "c", Removed: []string{"x"}}}, ch.Leavers)
	require.Equal(t, []string{"", "granted", "joiner"}, []string{cur[0].Change, cur[1].Change, cur[2].Change})
}

// Decisions on a snapshot that does not verify are refused: a review is
// never recorded against bytes nobody signed.
func TestDecisionsOnAnAlteredSnapshotAreRefused(t *testing.T) {
	env := agenttest.NewEnv(t, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	list := &agenttest.Collector{Accounts: []string{"acme"}, Fn: func(req collector.Request) (*collector.Result, error) {
		return &collector.Result{Records: []evidence.Record{rec("github.member", "acme/alice", map[string]any{"login": "alice", "role": "member"})}}, nil
	}}
	job := agenttest.Job("github.access", "@daily", list)
	job.Type = "github.access"
	w := env.Fill(t, job, 1, 0)
	ctx := context.Background()
	man, err := Prepare(ctx, env.Store, PrepareOptions{AsOf: time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, man.Write(dir))
	csvPath := filepath.Join(dir, man.Systems[0].CSV)
	b, err := os.ReadFile(csvPath)
	require.NoError(t, err)
	filled := strings.Replace(string(b), ",,\n", ",keep,\n", 1)
	require.NoError(t, os.WriteFile(csvPath, []byte(filled), 0o644))
	got, err := ReadDecisions(ctx, env.Store, []string{csvPath})
	require.NoError(t, err)
	require.Len(t, got[0].Rows, 1)

	// The same bytes, re-written with the login changed: the signature no
	// longer verifies.
	path := filepath.Join(env.Store.Root(), w[0].Key)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(path, 0o644))
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(raw), `"alice"`, `"mallory"`, 1)), 0o444))
	_, err = ReadDecisions(ctx, env.Store, []string{csvPath})
	require.ErrorContains(t, err, "does not verify")

	// A file that is not a review CSV names what is missing.
	other := filepath.Join(dir, "other.csv")
	require.NoError(t, os.WriteFile(other, []byte("id,decision\nx,keep\n"), 0o644))
	_, err = ReadDecisions(ctx, env.Store, []string{other, filepath.Join(dir, "absent.csv")})
	require.ErrorContains(t, err, "line 1: missing column(s) row_id, system, snapshot")
	require.ErrorContains(t, err, "absent.csv")
}
