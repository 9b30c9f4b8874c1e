package awscollector

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// policyDoc is an IAM or resource policy document, read leniently: AWS
// accepts a single statement or a list, and a string or a list for most
// elements.
type policyDoc struct {
	Version   string          `json:"Version"`
	Statement statements      `json:"Statement"`
	ID        json.RawMessage `json:"Id,omitempty"`
}

type statement struct {
	Sid       string                           `json:"Sid"`
	Effect    string                           `json:"Effect"`
	Principal json.RawMessage                  `json:"Principal"`
	Action    stringList                       `json:"Action"`
	NotAction stringList                       `json:"NotAction"`
	Resource  stringList                       `json:"Resource"`
	Condition map[string]map[string]stringList `json:"Condition"`
}

type statements []statement

func (s *statements) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var one statement
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = statements{one}
		return nil
	}
	var many []statement
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// stringList is a JSON string or list of strings; booleans and numbers (as
// condition values are sometimes written) are kept in their JSON text.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var out []string
	add := func(v any) error {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case bool, float64:
			out = append(out, fmt.Sprint(x))
		default:
			return fmt.Errorf("unexpected %T in policy element", v)
		}
		return nil
	}
	switch x := raw.(type) {
	case nil:
	case []any:
		for _, v := range x {
			if err := add(v); err != nil {
				return err
			}
		}
	default:
		if err := add(x); err != nil {
			return err
		}
	}
	*l = out
	return nil
}

// parsePolicy parses a policy document. IAM returns documents URL-encoded;
// S3 returns them plain. Both are accepted.
func parsePolicy(doc string) (*policyDoc, error) {
	s := strings.TrimSpace(doc)
	if strings.HasPrefix(s, "%7B") || strings.HasPrefix(s, "%7b") {
		dec, err := url.QueryUnescape(s)
		if err != nil {
			return nil, fmt.Errorf("policy document: %w", err)
		}
		s = dec
	}
	var p policyDoc
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("policy document: %w", err)
	}
	return &p, nil
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// grantsAdmin reports whether the policy allows every action on every
// resource ("*:*").
func (p *policyDoc) grantsAdmin() bool {
	for _, st := range p.Statement {
		if !strings.EqualFold(st.Effect, "Allow") || len(st.NotAction) > 0 {
			continue
		}
		if (contains(st.Action, "*") || contains(st.Action, "*:*")) && contains(st.Resource, "*") {
			return true
		}
	}
	return false
}

// deniesInsecureTransport reports whether the policy denies every request
// made without TLS: a Deny for all principals, all S3 actions, on the bucket
// and its objects, when aws:SecureTransport is false. It returns the Sid of
// the statement that does.
func (p *policyDoc) deniesInsecureTransport(bucketARN string) (string, bool) {
	for _, st := range p.Statement {
		if !strings.EqualFold(st.Effect, "Deny") || len(st.NotAction) > 0 {
			continue
		}
		if !allPrincipals(st.Principal) {
			continue
		}
		if !contains(st.Action, "*") && !contains(st.Action, "s3:*") {
			continue
		}
		if !(contains(st.Resource, "*") || contains(st.Resource, bucketARN+"/*") || contains(st.Resource, "arn:*:s3:::*")) {
			continue
		}
		if insecureTransportCondition(st.Condition) {
			return st.Sid, true
		}
	}
	return "", false
}

func allPrincipals(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == "*"
	}
	var m map[string]stringList
	if json.Unmarshal(raw, &m) == nil {
		return contains(m["AWS"], "*")
	}
	return false
}

func insecureTransportCondition(cond map[string]map[string]stringList) bool {
	for op, kv := range cond {
		if !strings.EqualFold(op, "Bool") && !strings.EqualFold(op, "BoolIfExists") {
			continue
		}
		for k, v := range kv {
			if strings.EqualFold(k, "aws:SecureTransport") && len(v) == 1 && strings.EqualFold(v[0], "false") {
				return true
			}
		}
	}
	return false
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
