package awscollector

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// Password policy minimums from the control catalog.
const (
	minPasswordLength = 14
	minReusePrevented = 24
)

// passwordPolicy reads the account password policy. An account without one
// (NoSuchEntity) fails; a policy that could not be read is an error finding
// and the error is returned for the run's record.
func (c *iamCollector) passwordPolicy(ctx context.Context, api iamAPI, root string) (evidence.Finding, error) {
	out, err := api.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if err != nil {
		if apiErrorCode(err) == "NoSuchEntity" {
			return finding(checkPasswordPolicy, root, evidence.Fail, "The account has no password policy.", map[string]any{"policy": nil}), nil
		}
		err = fmt.Errorf("get account password policy: %w", err)
		return finding(checkPasswordPolicy, root, evidence.Error, "The password policy could not be read.", map[string]any{"error": err.Error()}), err
	}
	return judgePasswordPolicy(out.PasswordPolicy, root), nil
}

func judgePasswordPolicy(p *types.PasswordPolicy, root string) evidence.Finding {
	if p == nil {
		return finding(checkPasswordPolicy, root, evidence.Fail, "The account has no password policy.", map[string]any{"policy": nil})
	}
	obs := map[string]any{
		"minimum_password_length":      aws.ToInt32(p.MinimumPasswordLength),
		"password_reuse_prevention":    aws.ToInt32(p.PasswordReusePrevention),
		"require_uppercase_characters": p.RequireUppercaseCharacters,
		"require_lowercase_characters": p.RequireLowercaseCharacters,
		"require_numbers":              p.RequireNumbers,
		"require_symbols":              p.RequireSymbols,
		"max_password_age":             aws.ToInt32(p.MaxPasswordAge),
	}
	var short []string
	if aws.ToInt32(p.MinimumPasswordLength) < minPasswordLength {
		short = append(short, fmt.Sprintf("minimum length %d < %d", aws.ToInt32(p.MinimumPasswordLength), minPasswordLength))
	}
	if aws.ToInt32(p.PasswordReusePrevention) < minReusePrevented {
		short = append(short, fmt.Sprintf("reuse prevention %d < %d", aws.ToInt32(p.PasswordReusePrevention), minReusePrevented))
	}
	if !(p.RequireUppercaseCharacters && p.RequireLowercaseCharacters && p.RequireNumbers && p.RequireSymbols) {
		short = append(short, "does not require upper- and lower-case letters, numbers and symbols")
	}
	if len(short) > 0 {
		return finding(checkPasswordPolicy, root, evidence.Fail, "The password policy is weak: "+strings.Join(short, "; ")+".", obs)
	}
	return finding(checkPasswordPolicy, root, evidence.Pass,
		fmt.Sprintf("The password policy requires %d+ characters, prevents reuse of %d+ passwords and requires complexity.", minPasswordLength, minReusePrevented), obs)
}
