package okta

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func accessFactory() collector.Factory {
	return collector.Factory{
		Type:        TypeAccess,
		Version:     Version,
		Provider:    "okta",
		Description: "Okta users, MFA factors, groups, app assignments and global session policies",
		Permissions: scopes(),
		Checks:      []string{CheckUserMFA, CheckDeprovisioned, CheckInactive, CheckPolicyMFA, CheckSessionIdle, CheckAccessList},
		New: func(s collector.Settings) (collector.Collector, error) {
			if s.Sources.Okta == nil {
				return nil, collector.ErrNoSource
			}
			if err := s.Sources.Okta.Validate(); err != nil {
				return nil, fmt.Errorf("sources.okta: %w", err)
			}
			return &access{settings: s}, nil
		},
	}
}

type access struct {
	settings collector.Settings
	// noPacing sends calls without waiting for the rate-limit budget, as
	// before the pacer: only the before/after benchmark sets it.
	noPacing bool
}

var _ collector.Collector = (*access)(nil)

func (a *access) Scopes(context.Context) ([]evidence.Scope, error) {
	return []evidence.Scope{{Provider: "okta", Account: orgHost(a.settings.Sources.Okta.OrgURL)}}, nil
}

func (a *access) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	if req.Now.IsZero() {
		return nil, errors.New("request has no reference time")
	}
	waits := &waitLog{}
	ctx = withWaitLog(ctx, waits)
	pace := newPacer()
	if !a.noPacing {
		ctx = withPacer(ctx, pace)
	}
	ctx, client, err := newClient(ctx, a.settings)
	if err != nil {
		return nil, err
	}
	d := read(ctx, client)
	if !d.usersRead && !d.groupsRead && !d.appsRead && !d.policiesRead {
		return nil, fmt.Errorf("read okta org %s: %w", orgHost(a.settings.Sources.Okta.OrgURL), &d.partial)
	}
	th := a.settings.Thresholds
	res := &collector.Result{}
	res.Records, res.Findings = d.evaluate(req.Scope.Account, req.Now, th)
	res.Records = append(res.Records, waits.records()...)
	res.Records = append(res.Records, pace.records()...)
	sortResult(res)
	return res, d.partial.Err()
}

func sortResult(res *collector.Result) {
	sort.SliceStable(res.Records, func(i, j int) bool {
		a, b := res.Records[i], res.Records[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.ID < b.ID
	})
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		return a.Resource < b.Resource
	})
}
