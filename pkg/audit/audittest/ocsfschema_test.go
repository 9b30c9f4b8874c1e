package audittest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/audit/audittest"
)

// goodOCSF is a Compliance Finding written from OCSF 1.8.0's documentation,
// with the cloud profile declared and what it requires filled in.
const goodOCSF = `{
  "activity_id": 1, "activity_name": "Create",
  "category_uid": 2, "category_name": "Findings",
  "class_uid": 2003, "class_name": "Compliance Finding",
  "type_uid": 200301, "type_name": "Compliance Finding: Create",
  "severity_id": 3, "severity": "Medium",
  "status_id": 1, "status": "New",
  "time": 1772323200000,
  "message": "root has no MFA",
  "metadata": {"uid": "e1", "version": "1.8.0", "profiles": ["cloud"],
    "product": {"name": "exhibit", "vendor_name": "exhibit", "version": "test"}},
  "cloud": {"provider": "AWS", "region": "us-east-1", "account": {"uid": "111122223333"}},
  "finding_info": {"uid": "f1", "title": "Root has MFA: root"},
  "compliance": {"control": "soc2:CC6.1", "standards": ["AICPA SOC 2"], "requirements": ["soc2:CC6.1"],
    "status_id": 3, "status": "Fail", "checks": [{"uid": "aws.iam.root_mfa", "name": "Root has MFA"}]},
  "resources": [{"uid": "arn:aws:iam::111122223333:root", "name": "root", "region": "us-east-1"}],
  "unmapped": {"exhibit.anything": {"goes": ["here"]}}
}`

func TestOCSFValidatorAcceptsAGoodEvent(t *testing.T) {
	s := audittest.RequireOCSFSchema(t)
	require.Empty(t, s.ValidateComplianceFinding([]byte(goodOCSF)))
}

// Each broken event is rejected, naming the problem at its JSON path; and
// an event with several problems gets all of them.
func TestOCSFValidatorRejects(t *testing.T) {
	s := audittest.RequireOCSFSchema(t)
	for _, tc := range []struct {
		name   string
		mutate func(ev map[string]any)
		want   []string
	}{
		{"undeclared profile attribute", func(ev map[string]any) {
			delete(obj(ev, "metadata"), "profiles")
			delete(ev, "cloud")
		}, []string{`resources[0].region: unknown attribute: it belongs to profile cloud, which metadata.profiles does not declare`}},
		{"profile object without the profile", func(ev map[string]any) { delete(obj(ev, "metadata"), "profiles") },
			[]string{`cloud: unknown attribute: it belongs to profile cloud`}},
		{"profile declared, what it requires missing", func(ev map[string]any) { delete(ev, "cloud") },
			[]string{"cloud: required attribute missing"}},
		{"unknown profile", func(ev map[string]any) { obj(ev, "metadata")["profiles"] = []any{"cloud", "weather"} },
			[]string{`metadata.profiles[1]: no profile is defined for "weather"`}},
		{"missing required attribute", func(ev map[string]any) { delete(obj(ev, "finding_info"), "uid") },
			[]string{"finding_info.uid: required attribute missing"}},
		{"missing required nested attribute", func(ev map[string]any) { delete(obj(ev, "cloud"), "provider") },
			[]string{"cloud.provider: required attribute missing"}},
		{"unknown nested attribute", func(ev map[string]any) { obj(ev, "compliance")["checks"].([]any)[0].(map[string]any)["result"] = "x" },
			[]string{`compliance.checks[0].result: unknown attribute: object "check" does not define it`}},
		{"unknown top-level attribute", func(ev map[string]any) { ev["finding"] = "x" },
			[]string{`finding: unknown attribute: class "compliance_finding" does not define it`}},
		{"bad enum value", func(ev map[string]any) { obj(ev, "compliance")["status_id"] = 7 },
			[]string{"compliance.status_id: 7 is not defined for this enum (defined: 0, 1, 2, 3, 99)"}},
		{"caption not matching its enum", func(ev map[string]any) { ev["status_id"] = 4 },
			[]string{`status: "New" does not match the caption of status_id 4, want "Resolved"`}},
		{"activity caption", func(ev map[string]any) { ev["activity_name"] = "Created" },
			[]string{`activity_name: "Created" does not match the caption of activity_id 1, want "Create"`}},
		{"other takes the source's word", func(ev map[string]any) { ev["status_id"], ev["status"] = 99, "Passing" }, nil},
		{"wrong type", func(ev map[string]any) { ev["time"] = "2026-03-01T00:00:00Z" },
			[]string{`time: wrong type: "2026-03-01T00:00:00Z", want timestamp_t`}},
		{"float for an integer", func(ev map[string]any) { ev["severity_id"] = 3.5 },
			[]string{"severity_id: wrong type: 3.5, want integer_t"}},
		{"object for a string", func(ev map[string]any) { obj(ev, "compliance")["control"] = map[string]any{} },
			[]string{"compliance.control: wrong type: an object, want string_t"}},
		{"string for an array", func(ev map[string]any) { obj(ev, "compliance")["requirements"] = "soc2:CC6.1" },
			[]string{`compliance.requirements: wrong type: "soc2:CC6.1", want an array of string_t`}},
		{"wrong type_uid", func(ev map[string]any) { ev["type_uid"], ev["type_name"] = 200302, "Compliance Finding: Update" },
			[]string{"type_uid: 200302, want class_uid*100 + activity_id = 200301"}},
		{"wrong category", func(ev map[string]any) { ev["category_uid"] = 3 },
			[]string{"category_uid: 3, want 2, the category of class compliance_finding"}},
		{"wrong version", func(ev map[string]any) { obj(ev, "metadata")["version"] = "1.7.0" },
			[]string{`metadata.version: "1.7.0", want "1.8.0"`}},
		{"another class", func(ev map[string]any) { ev["class_uid"] = 2004 },
			[]string{"class_uid: 2004, want 2003 (Compliance Finding)"}},
		{"constraint", func(ev map[string]any) { ev["resources"] = []any{map[string]any{"region": "us-east-1"}} },
			[]string{"resources[0]: constraint at_least_one of name, uid: none present"}},
		{"all at once", func(ev map[string]any) {
			delete(obj(ev, "metadata"), "profiles")
			delete(ev, "cloud")
			delete(obj(ev, "finding_info"), "uid")
			ev["type_uid"] = 200303
			ev["severity_id"] = "3"
		}, []string{"resources[0].region: unknown attribute", "finding_info.uid: required attribute missing",
			"type_uid: 200303, want", `severity_id: wrong type: "3", want integer_t`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev map[string]any
			require.NoError(t, json.Unmarshal([]byte(goodOCSF), &ev))
			tc.mutate(ev)
			b, err := json.Marshal(ev)
			require.NoError(t, err)
			problems := s.ValidateComplianceFinding(b)
			if tc.want == nil {
				require.Empty(t, problems)
			}
			for _, w := range tc.want {
				require.Contains(t, strings.Join(problems, "\n"), w)
			}
		})
	}
}

func obj(ev map[string]any, k string) map[string]any { return ev[k].(map[string]any) }
