package awscollector

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// rootMFAKind says whether the root user's MFA is a virtual device; an
// assigned MFA that is not in the virtual list is hardware (or a passkey).
// It returns "" when that could not be read.
func (c *iamCollector) rootMFAKind(ctx context.Context, api iamAPI, root string) (string, error) {
	p := iam.NewListVirtualMFADevicesPaginator(api, &iam.ListVirtualMFADevicesInput{
		AssignmentStatus: types.AssignmentStatusTypeAssigned,
		MaxItems:         aws.Int32(1000),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list virtual mfa devices: %w", err)
		}
		for _, d := range page.VirtualMFADevices {
			if d.User != nil && aws.ToString(d.User.Arn) == root {
				return "virtual", nil
			}
		}
	}
	return "hardware", nil
}

func rootHasMFA(rows []credRow) bool {
	for _, r := range rows {
		if r.Root {
			return r.MFAActive
		}
	}
	return false
}

func days(now, t time.Time) int {
	return int(now.Sub(t).Hours() / 24)
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// credentialFindings judges the report's rows: the root checks on the root
// line, the user checks on every other line.
func credentialFindings(rows []credRow, root, rootMFAKind string, now time.Time, th collector.Thresholds) []evidence.Finding {
	var out []evidence.Finding
	sawRoot := false
	for _, r := range rows {
		if r.Root {
			sawRoot = true
			out = append(out, rootFindings(r, rootMFAKind)...)
			continue
		}
		out = append(out, consoleMFA(r), keyAge(r, now, th.AccessKeyMaxAgeDays), unusedCredentials(r, now, th.CredentialUnusedDays))
	}
	if !sawRoot {
		for _, chk := range []string{checkRootMFA, checkRootKeys} {
			out = append(out, finding(chk, root, evidence.Error, "the credential report has no root account line", nil))
		}
	}
	return out
}

func rootFindings(r credRow, kind string) []evidence.Finding {
	var out []evidence.Finding
	obs := map[string]any{"mfa_active": r.MFAActive}
	if r.MFAActive {
		// The device's kind is a note beside the verdict, which the report
		// decides; when the devices could not be listed it is unknown.
		obs["mfa_type"] = kind
		if kind == "" {
			obs["mfa_type"] = "unknown"
		}
		out = append(out, finding(checkRootMFA, r.ARN, evidence.Pass, "The root user has MFA enabled.", obs))
	} else {
		out = append(out, finding(checkRootMFA, r.ARN, evidence.Fail, "The root user has no MFA device.", obs))
	}
	obs = map[string]any{"access_key_1_active": r.Keys[0].Active, "access_key_2_active": r.Keys[1].Active}
	if r.Keys[0].Active || r.Keys[1].Active {
		out = append(out, finding(checkRootKeys, r.ARN, evidence.Fail, "The root user has an active access key.", obs))
	} else {
		out = append(out, finding(checkRootKeys, r.ARN, evidence.Pass, "The root user has no active access keys.", obs))
	}
	return out
}

func consoleMFA(r credRow) evidence.Finding {
	obs := map[string]any{"password_enabled": r.PasswordEnabled, "mfa_active": r.MFAActive}
	switch {
	case !r.PasswordEnabled:
		return finding(checkConsoleMFA, r.ARN, evidence.NotApplicable, fmt.Sprintf("User %s has no console password.", r.User), obs)
	case r.MFAActive:
		return finding(checkConsoleMFA, r.ARN, evidence.Pass, fmt.Sprintf("Console user %s has MFA.", r.User), obs)
	}
	return finding(checkConsoleMFA, r.ARN, evidence.Fail, fmt.Sprintf("Console user %s has no MFA.", r.User), obs)
}

func keyAge(r credRow, now time.Time, maxDays int) evidence.Finding {
	obs := map[string]any{"max_age_days": maxDays}
	active, old, undated := 0, 0, 0
	for i, k := range r.Keys {
		p := fmt.Sprintf("access_key_%d_", i+1)
		obs[p+"active"] = k.Active
		if !k.Active {
			continue
		}
		active++
		obs[p+"last_rotated"] = ts(k.LastRotated)
		if k.LastRotated.IsZero() {
			// The report gives no date to judge this key by: neither
			// fresh nor old was read.
			undated++
			continue
		}
		age := days(now, k.LastRotated)
		obs[p+"age_days"] = age
		if age > maxDays {
			old++
		}
	}
	switch {
	case active == 0:
		return finding(checkKeyAge, r.ARN, evidence.NotApplicable, fmt.Sprintf("User %s has no active access keys.", r.User), obs)
	case old > 0:
		return finding(checkKeyAge, r.ARN, evidence.Fail, fmt.Sprintf("User %s has an active access key not rotated within %d days.", r.User, maxDays), obs)
	case undated > 0:
		return finding(checkKeyAge, r.ARN, evidence.Error, fmt.Sprintf("The credential report gives no rotation date for an active access key of user %s.", r.User), obs)
	}
	return finding(checkKeyAge, r.ARN, evidence.Pass, fmt.Sprintf("Every active access key of user %s was rotated within %d days.", r.User, maxDays), obs)
}

// lastActivity is when a credential was last used or, if never, when it
// came into being: a credential that was never used is unused since then.
func lastActivity(used, since time.Time) time.Time {
	if !used.IsZero() {
		return used
	}
	return since
}

func unusedCredentials(r credRow, now time.Time, maxDays int) evidence.Finding {
	obs := map[string]any{"unused_days_limit": maxDays}
	// undated counts credentials the report gives no date for: their use
	// was not read, so they decide nothing.
	active, stale, undated := 0, 0, 0
	if r.PasswordEnabled {
		active++
		last := lastActivity(r.PasswordLastUsed, maxTime(r.PasswordLastChanged, r.Created))
		obs["password_last_used"] = ts(r.PasswordLastUsed)
		switch {
		case last.IsZero():
			undated++
		case days(now, last) >= maxDays:
			stale++
		}
		if !last.IsZero() {
			obs["password_idle_days"] = days(now, last)
		}
	}
	for i, k := range r.Keys {
		if !k.Active {
			continue
		}
		active++
		p := fmt.Sprintf("access_key_%d_", i+1)
		last := lastActivity(k.LastUsed, k.LastRotated)
		obs[p+"last_used"] = ts(k.LastUsed)
		switch {
		case last.IsZero():
			undated++
			continue
		case days(now, last) >= maxDays:
			stale++
		}
		obs[p+"idle_days"] = days(now, last)
	}
	switch {
	case active == 0:
		return finding(checkUnused, r.ARN, evidence.NotApplicable, fmt.Sprintf("User %s has no active password or access key.", r.User), obs)
	case stale > 0:
		return finding(checkUnused, r.ARN, evidence.Fail, fmt.Sprintf("User %s has an active credential unused for %d days or more.", r.User, maxDays), obs)
	case undated > 0:
		return finding(checkUnused, r.ARN, evidence.Error, fmt.Sprintf("The credential report gives no date of use, change or creation for an active credential of user %s.", r.User), obs)
	}
	return finding(checkUnused, r.ARN, evidence.Pass, fmt.Sprintf("Every active credential of user %s was used within %d days.", r.User, maxDays), obs)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
