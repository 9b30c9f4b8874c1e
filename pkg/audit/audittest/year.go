package audittest

import (
	"errors"
	"testing"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// The simulated year: a daily collector over one account, run by the real
// agent into a real file store with real signatures, from YearStart for
// YearRuns days (the rest of the calendar year is still to come when the
// report is made, at YearGenerated).
var (
	YearStart     = time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)
	YearGenerated = YearStart.AddDate(0, 0, YearRuns).Add(6 * time.Hour)
)

// What happens on which day of the simulated year (0-based).
const (
	YearRuns = 320
	// YearFailedFrom and YearFailedTo bound the days whose run failed as
	// a whole (the credentials expired), inclusive.
	YearFailedFrom, YearFailedTo = 50, 52
	// YearPartial is the day whose run was partial.
	YearPartial = 70
	// YearMissed is the day the agent did not run: a gap.
	YearMissed = 150
	// YearFlipFrom and YearFlipTo bound the days bucket-flip failed:
	// pass → fail → pass, a flip.
	YearFlipFrom, YearFlipTo = 100, 130
	// YearResolved is the day bucket-old, failing from the first day,
	// was fixed: resolved.
	YearResolved = 200
	// YearAppeared is the day bucket-new started failing and went on
	// failing: appeared.
	YearAppeared = 280
)

// YearResources are the resources of test.check in the simulated year.
var YearResources = []string{"bucket-flip", "bucket-old", "bucket-new", "bucket-ok"}

// Year writes the simulated year and returns its agent environment.
func Year(t testing.TB) *agenttest.Env {
	t.Helper()
	env := agenttest.NewEnv(t, YearStart)
	day := 0
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: func(req collector.Request) (*collector.Result, error) {
		if day >= YearFailedFrom && day <= YearFailedTo {
			return nil, errors.New("ExpiredToken: the security token included in the request is expired")
		}
		res, err := agenttest.Passing(req)
		if err != nil {
			return nil, err
		}
		res.Findings = nil
		for _, r := range YearResources {
			f := evidence.Finding{Check: "test.check", Resource: r, Status: evidence.Pass, Reason: r + " is encrypted"}
			switch {
			case r == "bucket-flip" && day >= YearFlipFrom && day <= YearFlipTo,
				r == "bucket-old" && day < YearResolved,
				r == "bucket-new" && day >= YearAppeared:
				f.Status, f.Reason = evidence.Fail, r+" has no default encryption"
			}
			res.Findings = append(res.Findings, f)
		}
		if day == YearPartial {
			pe := &collector.PartialError{}
			pe.Add("eu-west-1", "ListBuckets", errors.New("AccessDenied: not authorized in eu-west-1"))
			return res, pe
		}
		return res, nil
	}}
	job := agenttest.Job("aws.s3", "@daily", c)
	for day = 0; day < YearRuns; day++ {
		env.Clock.Advance(YearStart.AddDate(0, 0, day).Sub(env.Clock.Now()))
		if day != YearMissed {
			env.Fill(t, job, 1, 0)
		}
	}
	return env
}
