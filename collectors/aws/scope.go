package awscollector

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// scopes lists one scope per account. withRegions is false for global
// services (IAM), whose evidence is not regional.
func (s *session) scopes(ctx context.Context, withRegions bool) ([]evidence.Scope, error) {
	cfg, err := s.config(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(s.src.Accounts))
	seen := map[string]bool{}
	for _, a := range s.src.Accounts {
		ids = append(ids, a.ID)
		seen[a.ID] = true
	}
	if s.src.Organization {
		members, manager, err := s.discover(ctx, cfg)
		if err != nil {
			return nil, err
		}
		var skipped []orgAccount
		for _, m := range members {
			if m.status != "ACTIVE" {
				skipped = append(skipped, m)
				continue
			}
			if !seen[m.id] {
				ids = append(ids, m.id)
				seen[m.id] = true
			}
		}
		s.mu.Lock()
		s.skipped, s.manager = skipped, manager
		s.mu.Unlock()
	}
	sort.Strings(ids)
	out := make([]evidence.Scope, len(ids))
	forEach(ctx, s.concurrency(), indexes(len(ids)), func(ctx context.Context, i int) {
		sc := evidence.Scope{Provider: "aws", Account: ids[i], Endpoint: s.src.Endpoint}
		if withRegions {
			sc.Regions = s.scopeRegions(ctx, ids[i])
		}
		out[i] = sc
	})
	if err := ctx.Err(); err != nil {
		// forEach stops early: the scopes not reached are empty, and the
		// regions of those reached may be missing.
		return nil, fmt.Errorf("list scopes: %w", err)
	}
	return out, nil
}

// scopeRegions lists the regions a scope covers: the configured ones, or
// every region enabled in the account. When those cannot be listed here the
// scope names none, and Collect lists them again and records the failure.
func (s *session) scopeRegions(ctx context.Context, id string) []string {
	if len(s.src.Regions) > 0 {
		regs := append([]string(nil), s.src.Regions...)
		sort.Strings(regs)
		return regs
	}
	t, err := s.target(ctx, id)
	if err != nil {
		return nil
	}
	cfg, err := s.accountConfig(ctx, t)
	if err != nil {
		return nil
	}
	regs, err := s.enabledRegions(ctx, cfg)
	if err != nil {
		return nil
	}
	sort.Strings(regs)
	return regs
}

// regions returns the regions to read in an account: the scope's, or every
// region enabled there.
func (s *session) regions(ctx context.Context, cfg aws.Config, scope evidence.Scope) ([]string, error) {
	if len(scope.Regions) > 0 {
		return scope.Regions, nil
	}
	return s.enabledRegions(ctx, cfg)
}
