package collector

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// EvidenceReader gives a store-reading step (one whose Factory lists
// Inputs) the latest stored snapshot of each series of a collector type.
// The agent hands it over in every Request; collectors that call providers
// never need it.
type EvidenceReader interface {
	// Latest returns, for every configured instance of collectorType, the
	// latest snapshot of each of its series, in series order. A series
	// whose latest snapshot cannot be read, parsed or verified against the
	// store's published keys is an Input with Err set and no Snapshot; a
	// configured instance that has no snapshot yet is one with Err set and
	// no Series. The error is for a store that could not be listed.
	Latest(ctx context.Context, collectorType string) ([]Input, error)
}

// Input is one snapshot a store-reading step joined, named so that its own
// snapshot can record exactly what it was built from.
type Input struct {
	// Instance is the configured collector id the series belongs to.
	Instance string
	Series   string
	Seq      int64
	// SHA256 is the hex digest of the snapshot's stored bytes.
	SHA256   string
	Snapshot *evidence.Snapshot
	// Err is why this input cannot be used.
	Err error
}

// Identity configures the identity.reconcile step: how accounts in GitHub
// and AWS are joined to people in the identity source (Okta), and which
// accounts are known service accounts.
type Identity struct {
	// MappingFile is a YAML file of people and their account names in each
	// system, for joins the evidence cannot make by itself (see package
	// collectors/identity).
	MappingFile string `yaml:"mapping_file"`
	// IAMPersonTag is the IAM user tag whose value names the user's person
	// (an Okta login or e-mail), for users the mapping file does not list;
	// DefaultIAMPersonTag when empty.
	IAMPersonTag string `yaml:"iam_person_tag"`
	// ServiceAccounts are accounts that belong to no person on purpose;
	// each names its owner.
	ServiceAccounts []ServiceAccount `yaml:"service_accounts" max:"10000"`
}

// ServiceAccount is one declared non-person account.
type ServiceAccount struct {
	// System is github, aws_iam or identity_center.
	System string `yaml:"system"`
	// Account is the login (github), user name (aws_iam, any account) or
	// user name (identity_center).
	Account string `yaml:"account"`
	Owner   string `yaml:"owner"`
	Reason  string `yaml:"reason"`
}

// DefaultIAMPersonTag is the tag identity.reconcile reads an IAM user's
// person from unless identity.iam_person_tag says otherwise.
const DefaultIAMPersonTag = "person"

// PersonTag is the IAM tag key in force.
func (i *Identity) PersonTag() string {
	if i.IAMPersonTag == "" {
		return DefaultIAMPersonTag
	}
	return i.IAMPersonTag
}

// IdentitySystems are the systems whose accounts identity.reconcile joins.
var IdentitySystems = []string{"github", "aws_iam", "identity_center"}

// Validate checks i; errors name the field.
func (i *Identity) Validate() error {
	var errs []error
	if len(i.IAMPersonTag) > 128 {
		errs = append(errs, errors.New("iam_person_tag: an IAM tag key is at most 128 characters"))
	}
	seen := map[string]int{}
	for n, sa := range i.ServiceAccounts {
		p := fmt.Sprintf("service_accounts[%d]", n)
		known := false
		for _, s := range IdentitySystems {
			known = known || sa.System == s
		}
		if !known {
			errs = append(errs, fmt.Errorf("%s.system: want one of %s, got %q", p, strings.Join(IdentitySystems, ", "), sa.System))
		}
		if strings.TrimSpace(sa.Account) == "" {
			errs = append(errs, fmt.Errorf("%s.account: required", p))
		}
		if strings.TrimSpace(sa.Owner) == "" {
			errs = append(errs, fmt.Errorf("%s.owner: required: a service account without an owner is an unowned account", p))
		}
		if strings.TrimSpace(sa.Reason) == "" {
			errs = append(errs, fmt.Errorf("%s.reason: required", p))
		}
		key := sa.System + "\x00" + strings.ToLower(sa.Account)
		if j, dup := seen[key]; dup && sa.Account != "" {
			errs = append(errs, fmt.Errorf("%s.account: %s %q is already listed in service_accounts[%d]", p, sa.System, sa.Account, j))
		}
		seen[key] = n
	}
	return errors.Join(errs...)
}
