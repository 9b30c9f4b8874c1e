package awscollector

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// IAM check ids, as in the control catalog.
const (
	checkRootMFA        = "aws.iam.root_mfa"
	checkRootKeys       = "aws.iam.root_access_keys"
	checkConsoleMFA     = "aws.iam.console_user_mfa"
	checkKeyAge         = "aws.iam.access_key_age"
	checkUnused         = "aws.iam.unused_credentials"
	checkPasswordPolicy = "aws.iam.password_policy"
	checkNoDirectAdmin  = "aws.iam.no_direct_admin"
	checkAccessList     = "aws.iam.access_list"
)

// iamAPI lists the only IAM calls the collector makes: reads.
type iamAPI interface {
	GenerateCredentialReport(ctx context.Context, in *iam.GenerateCredentialReportInput, optFns ...func(*iam.Options)) (*iam.GenerateCredentialReportOutput, error)
	GetCredentialReport(ctx context.Context, in *iam.GetCredentialReportInput, optFns ...func(*iam.Options)) (*iam.GetCredentialReportOutput, error)
	GetAccountPasswordPolicy(ctx context.Context, in *iam.GetAccountPasswordPolicyInput, optFns ...func(*iam.Options)) (*iam.GetAccountPasswordPolicyOutput, error)
	iam.GetAccountAuthorizationDetailsAPIClient
	iam.ListVirtualMFADevicesAPIClient
}

var _ iamAPI = (*iam.Client)(nil)

type iamCollector struct{ s *session }

func newIAM(s collector.Settings, tune tuning) (*iamCollector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &iamCollector{s: sess}, nil
}

// Scopes lists one scope per account; IAM is global, so no regions.
func (c *iamCollector) Scopes(ctx context.Context) ([]evidence.Scope, error) {
	return c.s.scopes(ctx, false)
}

// Collect reads one account's IAM evidence.
func (c *iamCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	run, err := c.s.begin(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, part, res, partial := run.cfg, run.part, run.res, run.partial
	api := iam.NewFromConfig(cfg, func(o *iam.Options) {
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
	th := c.s.thresholds()
	root := accountARN(part, acct)

	// Credential report: root and users' MFA, keys and last use.
	csvData, generated, err := c.credentialReport(ctx, api)
	var rows []credRow
	if err == nil {
		res.Attachments = append(res.Attachments, collector.Attachment{Name: "credential-report.csv", MediaType: "text/csv", Data: csvData})
		rows, err = parseCredentialReport(csvData)
	}
	if err != nil {
		op := "iam:GetCredentialReport"
		if errors.Is(err, errGenerateReport) {
			op = "iam:GenerateCredentialReport"
		}
		partial.Add(where(acct, "", ""), op, err)
		for _, chk := range []string{checkRootMFA, checkRootKeys, checkConsoleMFA, checkKeyAge, checkUnused} {
			res.Findings = append(res.Findings, finding(chk, root, evidence.Error,
				"The credential report could not be read, so this was not determined.", map[string]any{"error": err.Error()}))
		}
	} else {
		res.Records = append(res.Records, evidence.Record{
			Type: "aws.iam.credential_report", ID: root,
			Attributes: map[string]any{"generated_time": ts(generated), "principals": len(rows)},
		})
		// Whether root's MFA is a hardware device is only worth the lookup
		// (which pages through virtual devices) when root has MFA at all.
		hw := ""
		if rootHasMFA(rows) {
			var mfaErr error
			if hw, mfaErr = c.rootMFAKind(ctx, api, root); mfaErr != nil {
				partial.Add(where(acct, "", ""), "iam:ListVirtualMFADevices", mfaErr)
			}
		}
		res.Findings = append(res.Findings, credentialFindings(rows, root, hw, runTime(req), th)...)
	}

	// Password policy.
	f, err := c.passwordPolicy(ctx, api, root)
	if err != nil {
		partial.Add(where(acct, "", ""), "iam:GetAccountPasswordPolicy", err)
	}
	res.Findings = append(res.Findings, f)

	// Access list and direct admin grants.
	recs, fs, details, err := c.accessList(ctx, api, root)
	if err != nil {
		partial.Add(where(acct, "", ""), "iam:GetAccountAuthorizationDetails", err)
	}
	res.Records = append(res.Records, recs...)
	res.Findings = append(res.Findings, fs...)
	if rows != nil {
		res.Findings = append(res.Findings, unreported(rows, details)...)
	}
	return res, partial.Err()
}

// unreported gives error findings for users the access list shows but the
// credential report does not (created after it was generated): their
// credentials were not seen, so they are not silently left out.
func unreported(rows []credRow, d *authDetails) []evidence.Finding {
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.ARN] = true
	}
	var out []evidence.Finding
	for _, u := range d.users {
		arn := aws.ToString(u.Arn)
		if seen[arn] {
			continue
		}
		for _, chk := range []string{checkConsoleMFA, checkKeyAge, checkUnused} {
			out = append(out, finding(chk, arn, evidence.Error,
				fmt.Sprintf("User %s is not in the credential report (created after it was generated?), so its credentials were not seen.", aws.ToString(u.UserName)), nil))
		}
	}
	return out
}
