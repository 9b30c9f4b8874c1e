package awscollector

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// listing is one listing a collector makes in every region of an account:
// the call that lists, what it lists, and the checks judged on it.
type listing struct {
	op     string   // the listing call, e.g. "kms:ListKeys"
	noun   string   // what is listed, singular: "key"
	checks []string // the checks judged on what is listed
}

// eachRegion runs list in every region of the scope, at most the session's
// concurrency at once, and returns everything listed. A region that could
// not be listed whole — an error, or the run ending first — is a partial
// error and an error finding of every check on the account, since what was
// not listed is judged nowhere else. ok is false when the account's regions
// themselves could not be listed; the findings say so.
func eachRegion[T any](ctx context.Context, s *session, run *accountRun, scope evidence.Scope, l listing,
	list func(ctx context.Context, region string) ([]T, error)) (items []T, ok bool) {
	acct := scope.Account
	root := accountARN(run.part, acct)
	regions, err := s.regions(ctx, run.cfg, scope)
	if err != nil {
		run.partial.Add(where(acct, "", ""), "ec2:DescribeRegions", err)
		for _, chk := range l.checks {
			run.res.Findings = append(run.res.Findings, finding(chk, root, evidence.Error,
				fmt.Sprintf("The account's regions could not be listed, so its %ss were not read.", l.noun),
				map[string]any{"error": err.Error()}))
		}
		return nil, false
	}
	var mu sync.Mutex
	listed := map[string]bool{}
	failed := func(region string, err error, n int) {
		run.partial.Add(where(acct, region, ""), l.op, err)
		for _, chk := range l.checks {
			run.res.Findings = append(run.res.Findings, finding(chk, root, evidence.Error,
				fmt.Sprintf("The %ss of region %s could not all be listed, so not every %s was judged.", l.noun, region, l.noun),
				map[string]any{"region": region, "error": err.Error(), strings.ReplaceAll(l.noun, " ", "_") + "s_listed": n}))
		}
	}
	forEach(ctx, s.concurrency(), regions, func(ctx context.Context, region string) {
		got, err := list(ctx, region)
		mu.Lock()
		defer mu.Unlock()
		listed[region] = true
		items = append(items, got...)
		if err != nil {
			failed(region, fmt.Errorf("region %s: %w", region, err), len(got))
		}
	})
	for _, r := range regions {
		if !listed[r] {
			failed(r, notRead(ctx), 0)
		}
	}
	return items, true
}
