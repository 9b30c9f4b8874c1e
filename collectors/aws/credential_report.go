package awscollector

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// credRow is one principal's line of the IAM credential report.
type credRow struct {
	User, ARN            string
	Created              time.Time
	PasswordEnabled      bool
	PasswordLastUsed     time.Time // zero: never used or no information
	PasswordLastChanged  time.Time
	MFAActive            bool
	Keys                 [2]credKey
	Root                 bool
	passwordLastUsedText string
}

// credKey is one access key slot of a report line.
type credKey struct {
	Active      bool
	LastRotated time.Time
	LastUsed    time.Time
}

// reportColumns are the columns the checks need; a report without them is
// rejected rather than read as "no credentials".
var reportColumns = []string{
	"user", "arn", "user_creation_time", "password_enabled", "password_last_used",
	"password_last_changed", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
}

// parseCredentialReport reads the report's CSV. Values AWS uses for "none"
// (N/A, no_information, not_supported) parse as false or the zero time.
func parseCredentialReport(data []byte) ([]credRow, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("credential report header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, c := range reportColumns {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("credential report: column %q missing", c)
		}
	}
	var rows []credRow
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("credential report line %d: %w", line, err)
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("credential report line %d: %d fields, header has %d", line, len(rec), len(header))
		}
		get := func(name string) string { return strings.TrimSpace(rec[col[name]]) }
		var perr error
		tm := func(name string) time.Time {
			t, err := reportTime(get(name))
			if err != nil && perr == nil {
				perr = fmt.Errorf("credential report line %d: %s: %w", line, name, err)
			}
			return t
		}
		row := credRow{
			User:                 get("user"),
			ARN:                  get("arn"),
			Created:              tm("user_creation_time"),
			PasswordEnabled:      get("password_enabled") == "true",
			PasswordLastUsed:     tm("password_last_used"),
			PasswordLastChanged:  tm("password_last_changed"),
			MFAActive:            get("mfa_active") == "true",
			passwordLastUsedText: get("password_last_used"),
		}
		for i := range 2 {
			p := fmt.Sprintf("access_key_%d_", i+1)
			row.Keys[i] = credKey{
				Active:      get(p+"active") == "true",
				LastRotated: tm(p + "last_rotated"),
				LastUsed:    tm(p + "last_used_date"),
			}
		}
		if perr != nil {
			return nil, perr
		}
		row.Root = row.User == "<root_account>"
		if row.ARN == "" {
			return nil, fmt.Errorf("credential report line %d: empty arn", line)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// reportTime parses the report's ISO 8601 times and its placeholders.
func reportTime(v string) (time.Time, error) {
	switch v {
	case "", "N/A", "no_information", "not_supported":
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q", v)
	}
	return t.UTC(), nil
}

// errGenerateReport marks a failure of GenerateCredentialReport, so the
// run names the operation that failed.
var errGenerateReport = errors.New("generate credential report")

// credentialReport generates a fresh report (IAM serves one up to four
// hours old) and downloads it: a constant number of calls however many
// users the account has.
func (c *iamCollector) credentialReport(ctx context.Context, api iamAPI) ([]byte, time.Time, error) {
	for attempt := 0; ; attempt++ {
		out, err := api.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("%w: %w", errGenerateReport, err)
		}
		if out.State == types.ReportStateTypeComplete {
			break
		}
		if attempt+1 >= c.s.tune.pollAttempts {
			return nil, time.Time{}, fmt.Errorf("generate credential report: still %s after %d polls", out.State, attempt+1)
		}
		if err := sleep(ctx, c.s.tune.pollInterval); err != nil {
			return nil, time.Time{}, err
		}
	}
	for attempt := 0; ; attempt++ {
		out, err := api.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
		if err == nil {
			if out.ReportFormat != "" && out.ReportFormat != types.ReportFormatTypeTextCsv {
				return nil, time.Time{}, fmt.Errorf("get credential report: unexpected format %q", out.ReportFormat)
			}
			return out.Content, aws.ToTime(out.GeneratedTime), nil
		}
		code := apiErrorCode(err)
		if code != "ReportInProgress" && code != "ReportNotPresent" {
			return nil, time.Time{}, fmt.Errorf("get credential report: %w", err)
		}
		if attempt+1 >= c.s.tune.pollAttempts {
			return nil, time.Time{}, fmt.Errorf("get credential report: %w", err)
		}
		if err := sleep(ctx, c.s.tune.pollInterval); err != nil {
			return nil, time.Time{}, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
