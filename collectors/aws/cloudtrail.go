package awscollector

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// trailAPI lists the only CloudTrail calls the collector makes.
type trailAPI interface {
	DescribeTrails(ctx context.Context, in *cloudtrail.DescribeTrailsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(ctx context.Context, in *cloudtrail.GetTrailStatusInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	GetEventSelectors(ctx context.Context, in *cloudtrail.GetEventSelectorsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error)
}

var _ trailAPI = (*cloudtrail.Client)(nil)

type trailCollector struct{ perAccount }

func newCloudTrail(s collector.Settings, tune tuning) (*trailCollector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &trailCollector{perAccount{sess}}, nil
}

// trailState is everything read about one trail.
type trailState struct {
	trail     cttypes.Trail
	foreign   bool // owned by another account: an organization trail
	status    *cloudtrail.GetTrailStatusOutput
	statusErr error
	selectors *cloudtrail.GetEventSelectorsOutput
	selErr    error
	retention retentionInput
}

// Collect reads the trails homed in each region of one account.
func (c *trailCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	run, err := c.s.begin(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, part, res, partial := run.cfg, run.part, run.res, run.partial
	root := accountARN(part, acct)
	regions, err := c.s.regions(ctx, cfg, req.Scope)
	if err != nil {
		partial.Add(where(acct, "", ""), "ec2:DescribeRegions", err)
		for _, chk := range CloudTrail.Checks {
			res.Findings = append(res.Findings, finding(chk, root, evidence.Error,
				"The account's regions could not be listed, so its trails were not read.", map[string]any{"error": err.Error()}))
		}
		return res, partial.Err()
	}

	// Every region lists the trails that apply to it, shadow copies of
	// multi-region and organization trails included, so a trail homed in a
	// region that could not be read is still seen. Each trail is then read
	// once, in its home region.
	var mu sync.Mutex
	found := map[string]cttypes.Trail{}
	var failedRegions []string
	listed := map[string]bool{}
	forEach(ctx, c.s.concurrency(), regions, func(ctx context.Context, region string) {
		out, err := c.client(cfg, region).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
		mu.Lock()
		defer mu.Unlock()
		listed[region] = true
		if err != nil {
			partial.Add(where(acct, region, ""), "cloudtrail:DescribeTrails", err)
			failedRegions = append(failedRegions, region)
			return
		}
		for _, tr := range out.TrailList {
			found[aws.ToString(tr.TrailARN)] = tr
		}
	})
	for _, r := range regions {
		if !listed[r] {
			partial.Add(where(acct, r, ""), "cloudtrail:DescribeTrails", notRead(ctx))
			failedRegions = append(failedRegions, r)
		}
	}
	arns := make([]string, 0, len(found))
	for a := range found {
		arns = append(arns, a)
	}
	sort.Strings(arns)
	sort.Strings(failedRegions)
	trails := make([]*trailState, len(arns))
	buckets := bucketReads{clients: &regionClients{s: c.s, cfg: cfg}}
	forEach(ctx, c.s.concurrency(), indexes(len(arns)), func(ctx context.Context, i int) {
		tr := found[arns[i]]
		home := aws.ToString(tr.HomeRegion)
		if home == "" {
			home = cfg.Region
		}
		api := c.client(cfg, home)
		st := &trailState{trail: tr, foreign: arnAccount(arns[i]) != acct}
		st.status, st.statusErr = api.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arns[i])})
		st.selectors, st.selErr = api.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arns[i])})
		if !st.foreign {
			st.retention = c.readRetention(ctx, cfg, tr, home, &buckets)
		}
		mu.Lock()
		defer mu.Unlock()
		w := where(acct, home, arns[i])
		if st.statusErr != nil {
			partial.Add(w, "cloudtrail:GetTrailStatus", st.statusErr)
		}
		if st.selErr != nil {
			partial.Add(w, "cloudtrail:GetEventSelectors", st.selErr)
		}
		for _, e := range st.retention.errs {
			partial.Add(w, e.op, e.err)
		}
		trails[i] = st
	})

	th := c.s.thresholds()
	cov := newCoverage(regions, failedRegions)
	var unread []string
	for i, st := range trails {
		if st == nil {
			partial.Add(where(acct, "", arns[i]), "cloudtrail:GetTrailStatus", notRead(ctx))
			cov.undetermined = append(cov.undetermined, arns[i])
			unread = append(unread, arns[i])
			continue
		}
		res.Records = append(res.Records, trailRecord(st))
		cov.add(st)
		if st.foreign {
			// Another account's trail (an organization trail) covers this
			// account; its own settings are judged in the account that owns it.
			continue
		}
		res.Findings = append(res.Findings,
			logValidation(st), trailKMS(st), delivery(st, runTime(req), th.TrailDeliveryMaxHours),
			cloudWatch(st), judgeRetention(st, th.LogRetentionDays))
	}
	var missed []string
	if len(failedRegions) > 0 {
		missed = append(missed, "the trails of "+strings.Join(failedRegions, ", ")+" could not be listed")
	}
	if len(unread) > 0 {
		missed = append(missed, "trail(s) "+strings.Join(unread, ", ")+" were not read")
	}
	if len(missed) > 0 {
		// A trail homed in a region that could not be listed (a
		// single-region one has no shadow elsewhere) or a trail not read
		// is judged nowhere; the account's verdict on each check says so.
		obs := map[string]any{"unread_regions": nonNilStrings(failedRegions), "unread_trails": nonNilStrings(unread)}
		reason := "Not every trail was judged: " + strings.Join(missed, "; ") + "."
		for _, chk := range []string{checkTrailValidation, checkTrailKMS, checkTrailDelivery, checkTrailRetention, checkTrailCloudWatch} {
			res.Findings = append(res.Findings, finding(chk, root, evidence.Error, reason, obs))
		}
	}
	res.Findings = append(res.Findings, cov.judge(root, len(trails), missed))
	return res, partial.Err()
}

func (c *trailCollector) client(cfg aws.Config, region string) trailAPI {
	return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

// arnAccount returns the account field of an ARN.
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

func nonNilStrings(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
