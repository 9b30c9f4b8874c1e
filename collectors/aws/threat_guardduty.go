package awscollector

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// guardDutyMinSeverity is where GuardDuty's high severity band starts
// (7.0–8.9 high, 9.0–10.0 critical).
const guardDutyMinSeverity = 7

// guardDutyBatch is the most finding ids GetFindings takes at once.
const guardDutyBatch = 50

// detectorState is everything read about one GuardDuty detector.
type detectorState struct {
	id, arn, region string
	detector        *guardduty.GetDetectorOutput
	detectorErr     error
	detectorRead    bool
	// org is the organization configuration, read only where the account
	// may see it: orgNote says why it was not, when GuardDuty refused.
	org     *orgAutoEnable
	orgNote string
	orgErr  error
	// findingIDs are the ids ListFindings matched; findings those read.
	findingIDs []string
	listErr    error
	listed     bool
	findings   []gdtypes.Finding
	getErr     error
}

// orgAutoEnable is what the organization's GuardDuty administrator sees:
// whether member accounts get GuardDuty, and each feature's auto-enable.
type orgAutoEnable struct {
	members  string
	features map[string]string
}

// findingCriteria selects, server side, the findings the check judges:
// the account's own (an administrator's detector lists its members' too),
// high and critical, not archived.
func findingCriteria(acct string) *gdtypes.FindingCriteria {
	return &gdtypes.FindingCriteria{Criterion: map[string]gdtypes.Condition{
		"accountId":        {Equals: []string{acct}},
		"severity":         {GreaterThanOrEqual: aws.Int64(guardDutyMinSeverity)},
		"service.archived": {Equals: []string{"false"}},
	}}
}

// read makes the detector's calls: its status, the organization setting,
// the matching finding ids page by page, and those findings 50 at a time.
func (d *detectorState) read(ctx context.Context, api guardDutyAPI, acct string) {
	if out, err := api.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(d.id)}); err != nil {
		d.detectorErr = fmt.Errorf("get detector: %w", err)
	} else {
		d.detector = out
	}
	d.detectorRead = true
	d.readOrg(ctx, api)

	p := guardduty.NewListFindingsPaginator(api, &guardduty.ListFindingsInput{
		DetectorId: aws.String(d.id), FindingCriteria: findingCriteria(acct), MaxResults: aws.Int32(guardDutyBatch)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			d.listErr = fmt.Errorf("list findings: %w", err)
			break
		}
		d.findingIDs = append(d.findingIDs, page.FindingIds...)
	}
	d.listed = true
	for start := 0; start < len(d.findingIDs); start += guardDutyBatch {
		ids := d.findingIDs[start:min(start+guardDutyBatch, len(d.findingIDs))]
		out, err := api.GetFindings(ctx, &guardduty.GetFindingsInput{DetectorId: aws.String(d.id), FindingIds: ids})
		if err != nil {
			d.getErr = fmt.Errorf("get findings: %w", err)
			continue
		}
		d.findings = append(d.findings, out.Findings...)
	}
}

// readOrg reads whether members are auto-enabled. Only the organization's
// GuardDuty administrator may ask: anyone else is refused (BadRequest, or
// AccessDenied without the permission), which is recorded, not an error.
func (d *detectorState) readOrg(ctx context.Context, api guardDutyAPI) {
	org := &orgAutoEnable{features: map[string]string{}}
	p := guardduty.NewDescribeOrganizationConfigurationPaginator(api, &guardduty.DescribeOrganizationConfigurationInput{DetectorId: aws.String(d.id)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			switch code := apiErrorCode(err); code {
			case "BadRequestException", "AccessDeniedException":
				d.orgNote = fmt.Sprintf("not visible to this account (%s): only the organization's GuardDuty administrator can read it", code)
			default:
				d.orgErr = fmt.Errorf("describe organization configuration: %w", err)
			}
			return
		}
		org.members = string(page.AutoEnableOrganizationMembers)
		for _, f := range page.Features {
			org.features[string(f.Name)] = string(f.AutoEnable)
		}
	}
	d.org = org
}

func (d *detectorState) addErrors(partial *collector.PartialError, acct string) {
	w := where(acct, d.region, d.arn)
	for _, e := range []struct {
		op  string
		err error
	}{
		{"guardduty:GetDetector", d.detectorErr}, {"guardduty:DescribeOrganizationConfiguration", d.orgErr},
		{"guardduty:ListFindings", d.listErr}, {"guardduty:GetFindings", d.getErr},
	} {
		if e.err != nil {
			partial.Add(w, e.op, e.err)
		}
	}
}

// markUnread records the reads a run that ended never made.
func (d *detectorState) markUnread(ctx context.Context, partial *collector.PartialError, acct string) {
	w := where(acct, d.region, d.arn)
	if !d.detectorRead {
		d.detectorErr = notRead(ctx)
		partial.Add(w, "guardduty:GetDetector", d.detectorErr)
	}
	if !d.listed {
		d.listErr = notRead(ctx)
		partial.Add(w, "guardduty:ListFindings", d.listErr)
	}
}

// findingResource names the resource a finding is about, as an ARN when
// GuardDuty's details give one; ok is false for a finding whose resource
// has no ARN here, which is then named by the finding's own ARN.
func findingResource(part string, f gdtypes.Finding) (arn string, tags map[string]string, ok bool) {
	r := f.Resource
	if r == nil {
		return "", nil, false
	}
	acct, region := aws.ToString(f.AccountId), aws.ToString(f.Region)
	gdTags := func(ts []gdtypes.Tag) map[string]string {
		m := map[string]string{}
		for _, t := range ts {
			m[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		return m
	}
	switch {
	case r.InstanceDetails != nil && aws.ToString(r.InstanceDetails.InstanceId) != "":
		return fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", part, region, acct, aws.ToString(r.InstanceDetails.InstanceId)), gdTags(r.InstanceDetails.Tags), true
	case len(r.S3BucketDetails) > 0 && aws.ToString(r.S3BucketDetails[0].Arn) != "":
		return aws.ToString(r.S3BucketDetails[0].Arn), gdTags(r.S3BucketDetails[0].Tags), true
	case r.AccessKeyDetails != nil && aws.ToString(r.AccessKeyDetails.UserType) == "IAMUser" && aws.ToString(r.AccessKeyDetails.UserName) != "":
		return fmt.Sprintf("arn:%s:iam::%s:user/%s", part, acct, aws.ToString(r.AccessKeyDetails.UserName)), nil, true
	case r.EksClusterDetails != nil && aws.ToString(r.EksClusterDetails.Arn) != "":
		return aws.ToString(r.EksClusterDetails.Arn), nil, true
	case r.EcsClusterDetails != nil && aws.ToString(r.EcsClusterDetails.Arn) != "":
		return aws.ToString(r.EcsClusterDetails.Arn), nil, true
	case r.LambdaDetails != nil && aws.ToString(r.LambdaDetails.FunctionArn) != "":
		return aws.ToString(r.LambdaDetails.FunctionArn), nil, true
	case r.RdsDbInstanceDetails != nil && aws.ToString(r.RdsDbInstanceDetails.DbInstanceArn) != "":
		return aws.ToString(r.RdsDbInstanceDetails.DbInstanceArn), nil, true
	}
	return "", nil, false
}

// severityLabel is GuardDuty's name for a severity.
func severityLabel(s float64) string {
	switch {
	case s >= 9:
		return "critical"
	case s >= 7:
		return "high"
	case s >= 4:
		return "medium"
	}
	return "low"
}
