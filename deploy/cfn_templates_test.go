package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var cfnTemplates = []string{"aws/reader-role.yaml", "aws/agent.yaml"}

func loadTemplate(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	tpl, err := parseTemplate(path, b)
	require.NoError(t, err)
	return tpl
}

// Every resource type, property (nested ones too), required property,
// literal's type, reference, attribute and condition in the templates is
// checked against AWS's published CloudFormation resource specification.
func TestCloudFormationTemplatesMatchSpec(t *testing.T) {
	spec := requireCFNSpec(t)
	t.Logf("CloudFormation resource specification %s", spec.ResourceSpecificationVersion)
	for _, path := range cfnTemplates {
		t.Run(path, func(t *testing.T) {
			errs := checkTemplate(spec, loadTemplate(t, path))
			require.Empty(t, errs, "%s:\n%s", path, strings.Join(errs, "\n"))
		})
	}
}

// The checker can fail: each kind of mistake is reported, naming where,
// and every problem of a template at once.
func TestCloudFormationCheckerRejects(t *testing.T) {
	spec := requireCFNSpec(t)
	const head = "AWSTemplateFormatVersion: \"2010-09-09\"\nParameters:\n  Name: {Type: String, Default: x}\nConditions:\n  On: !Equals [!Ref Name, x]\nResources:\n"
	valid := head + `  Key:
    Type: AWS::KMS::Key
    Condition: On
    Properties:
      KeyPolicy: {Version: "2012-10-17"}
      EnableKeyRotation: true
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${Name}-${AWS::Region}"
      ObjectLockEnabled: "true"
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault:
              SSEAlgorithm: aws:kms
              KMSMasterKeyID: !If [On, !GetAtt Key.Arn, !Ref AWS::NoValue]
Outputs:
  Arn: {Value: !GetAtt Bucket.Arn}
`
	tpl, err := parseTemplate("valid.yaml", []byte(valid))
	require.NoError(t, err)
	require.Empty(t, checkTemplate(spec, tpl), "the control template must pass")

	bucket := func(props string) string {
		return head + "  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n" + props
	}
	for name, tc := range map[string]struct {
		tpl  string
		want []string
	}{
		"unknown property": {bucket("      BucketNmae: x\n"),
			[]string{"Resources.Bucket.Properties.BucketNmae: unknown property of AWS::S3::Bucket"}},
		"unknown nested property": {bucket("      VersioningConfiguration: {Status: Enabled, Mfa: x}\n"),
			[]string{"Resources.Bucket.Properties.VersioningConfiguration.Mfa: unknown property of VersioningConfiguration"}},
		"missing required property": {head + "  Policy:\n    Type: AWS::S3::BucketPolicy\n    Properties:\n      Bucket: b\n",
			[]string{"Resources.Policy.Properties: missing required property PolicyDocument of AWS::S3::BucketPolicy"}},
		"missing required nested property": {bucket("      VersioningConfiguration: {}\n"),
			[]string{"Resources.Bucket.Properties.VersioningConfiguration: missing required property Status of VersioningConfiguration"}},
		"dangling Ref": {bucket("      BucketName: !Ref Nmae\n"),
			[]string{`Resources.Bucket.Properties.BucketName.Ref: "Nmae" is not a parameter, resource or pseudo parameter`}},
		"dangling Sub variable": {bucket("      BucketName: !Sub \"${Name}-${AWS::Regoin}\"\n"),
			[]string{`Resources.Bucket.Properties.BucketName.Fn::Sub ${AWS::Regoin}: "AWS::Regoin" is not a parameter, resource or pseudo parameter`}},
		"unknown attribute": {bucket("      BucketName: x\nOutputs:\n  A: {Value: !GetAtt Bucket.Nmae}\n"),
			[]string{`Outputs.A.Value.Fn::GetAtt: AWS::S3::Bucket has no attribute "Nmae"`}},
		"GetAtt of a parameter": {bucket("      BucketName: !GetAtt Name.Arn\n"),
			[]string{`Resources.Bucket.Properties.BucketName.Fn::GetAtt: "Name" is not a resource of this template`}},
		"unknown resource type": {head + "  Thing:\n    Type: AWS::S3::Buckett\n",
			[]string{"Resources.Thing.Type: unknown resource type AWS::S3::Buckett"}},
		"undefined condition": {bucket("      BucketName: !If [Off, a, b]\n"),
			[]string{`Resources.Bucket.Properties.BucketName.Fn::If: condition "Off" is not defined in Conditions`}},
		"unguarded reference to a conditional resource": {head + "  Key:\n    Type: AWS::KMS::Key\n    Condition: On\n    Properties: {KeyPolicy: {}}\nOutputs:\n  K: {Value: !Ref Key}\n",
			[]string{"Outputs.K.Value.Ref: Key exists only under condition On"}},
		"a string where a boolean goes": {bucket("      ObjectLockEnabled: yes please\n"),
			[]string{`Resources.Bucket.Properties.ObjectLockEnabled: want a boolean, got the string "yes please"`}},
		"a list where a string goes": {bucket("      BucketName: [a, b]\n"),
			[]string{"Resources.Bucket.Properties.BucketName: want a string, got a list"}},
		"an object where a list goes": {bucket("      Tags: {Key: a, Value: b}\n"),
			[]string{"Resources.Bucket.Properties.Tags: want a list, got an object"}},
		"a number where an integer goes, in a branch": {bucket("      ObjectLockConfiguration: {Rule: {DefaultRetention: {Days: !If [On, 1.5, 2]}}}\n"),
			[]string{"Resources.Bucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention.Days.Fn::If[1]: want an integer, got the number 1.5"}},
		"a Default outside AllowedValues": {"Parameters:\n  P: {Type: String, Default: c, AllowedValues: [a, b]}\nResources:\n  B: {Type: AWS::S3::Bucket}\n",
			[]string{`Parameters.P.Default: "c" is not among AllowedValues`}},
		"every problem at once": {bucket("      BucketNmae: x\n      BucketName: !Ref Nope\n"),
			[]string{"BucketNmae: unknown property", `"Nope" is not a parameter`}},
	} {
		t.Run(name, func(t *testing.T) {
			tpl, err := parseTemplate(name, []byte(tc.tpl))
			require.NoError(t, err)
			errs := checkTemplate(spec, tpl)
			require.Len(t, errs, len(tc.want), "%s", strings.Join(errs, "\n"))
			for _, w := range tc.want {
				require.True(t, slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, w) }), "want %q among:\n%s", w, strings.Join(errs, "\n"))
			}
		})
	}
}

// Short-form tags are read as the functions they stand for, and a tag
// CloudFormation does not know is refused with its line.
func TestCloudFormationShortForms(t *testing.T) {
	tpl, err := parseTemplate("t.yaml", []byte("A: !GetAtt R.Arn\nB: !Sub x\nC: !If [c, !Ref P, !Join [',', [a]]]\nD: !Not [!Equals [a, b]]\n"))
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"A": map[string]any{"Fn::GetAtt": []any{"R", "Arn"}},
		"B": map[string]any{"Fn::Sub": "x"},
		"C": map[string]any{"Fn::If": []any{"c", map[string]any{"Ref": "P"}, map[string]any{"Fn::Join": []any{",", []any{"a"}}}}},
		"D": map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{"a", "b"}}}},
	}, tpl)
	_, err = parseTemplate("t.yaml", []byte("A: x\nB: !Reff x\nC: &a y\nD: *a\n"))
	require.ErrorContains(t, err, "t.yaml:2: unknown tag !Reff")
	require.ErrorContains(t, err, "t.yaml:4: YAML aliases are not supported")
}

// statements returns a policy document's statements, with Action always a
// list, as JSON decodes them.
func statements(t *testing.T, doc any) []map[string]any {
	t.Helper()
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	var pol struct {
		Version   string
		Statement []map[string]any
	}
	require.NoError(t, json.Unmarshal(b, &pol))
	require.Equal(t, "2012-10-17", pol.Version)
	for _, st := range pol.Statement {
		if a, ok := st["Action"].(string); ok {
			st["Action"] = []any{a}
		}
	}
	return pol.Statement
}

func actions(st map[string]any) []string {
	var out []string
	for _, a := range st["Action"].([]any) {
		out = append(out, a.(string))
	}
	return out
}

// rolePolicies returns an IAM role's inline policies by name.
func rolePolicies(t *testing.T, role map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	props := role["Properties"].(map[string]any)
	for _, p := range props["Policies"].([]any) {
		p := p.(map[string]any)
		out[p["PolicyName"].(string)] = p["PolicyDocument"]
	}
	require.NotContains(t, props, "ManagedPolicyArns", "a managed policy would grant actions no test sees")
	return out
}

// onlyResourcesOfType fails when rendered holds an IAM policy resource
// the tests do not read; it returns the resources of type typ.
func resourcesOfType(t *testing.T, r *rendered, typ string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for name, res := range r.Resources {
		switch res["Type"] {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User", "AWS::IAM::Group":
			t.Fatalf("%s: %s grants actions outside the roles the tests check", name, res["Type"])
		case typ:
			out[name] = res
		}
	}
	return out
}

const (
	testAgentRole  = "arn:aws:iam::111122223333:role/exhibit-agent"
	testExternalID = "0123456789abcdef0123456789abcdef"
)

// The member-account reader role grants exactly the actions the
// collectors declare (the same test as collector-policy.json), all reads,
// on "*"; it trusts only the agent's role, and only with the external ID,
// which has no default and is never echoed.
func TestReaderRoleTemplateGrantsDeclaredPermissions(t *testing.T) {
	tpl := loadTemplate(t, "aws/reader-role.yaml")
	params := tpl["Parameters"].(map[string]any)
	ext := params["ExternalId"].(map[string]any)
	require.Equal(t, true, ext["NoEcho"])
	require.NotContains(t, ext, "Default", "a default external ID would be known to everyone")
	require.GreaterOrEqual(t, ext["MinLength"], int64(16))
	require.NotContains(t, params["AgentRoleArn"], "Default")
	require.Equal(t, "exhibit-reader", params["RoleName"].(map[string]any)["Default"], "the agent's default organization_role")

	r, err := renderTemplate(tpl, map[string]string{"AgentRoleArn": testAgentRole, "ExternalId": testExternalID}, map[string]string{
		"ReaderRole": "exhibit-reader", "ReaderRole.Arn": "arn:aws:iam::ACCOUNT:role/exhibit-reader",
	})
	require.NoError(t, err)
	roles := resourcesOfType(t, r, "AWS::IAM::Role")
	require.Len(t, roles, 1)
	role := roles["ReaderRole"]
	props := role["Properties"].(map[string]any)
	require.Equal(t, "exhibit-reader", props["RoleName"])
	require.Equal(t, "/", props["Path"])
	require.Equal(t, "3600", props["MaxSessionDuration"])
	require.NotContains(t, props, "PermissionsBoundary")

	var granted []string
	for name, doc := range rolePolicies(t, role) {
		for _, st := range statements(t, doc) {
			require.Equal(t, "Allow", st["Effect"], name)
			require.Equal(t, "*", st["Resource"], name)
			require.NotContains(t, st, "NotAction", name)
			granted = append(granted, actions(st)...)
		}
	}
	slices.Sort(granted)
	require.Equal(t, declaredAWSPermissions(), granted)
	requireReadOnly(t, granted)

	requireTrustNeedsExternalID(t, props["AssumeRolePolicyDocument"], testAgentRole, testExternalID)
	require.Equal(t, "arn:aws:iam::ACCOUNT:role/exhibit-reader", r.Outputs["RoleArn"])

	// Permissions-boundary friendly: a boundary and a path are taken.
	r, err = renderTemplate(tpl, map[string]string{
		"AgentRoleArn": testAgentRole, "ExternalId": testExternalID,
		"PermissionsBoundaryArn": "arn:aws:iam::111122223333:policy/boundary", "RolePath": "/exhibit/",
	}, map[string]string{"ReaderRole": "exhibit-reader", "ReaderRole.Arn": "x"})
	require.NoError(t, err)
	props = r.Resources["ReaderRole"]["Properties"].(map[string]any)
	require.Equal(t, "arn:aws:iam::111122223333:policy/boundary", props["PermissionsBoundary"])
	require.Equal(t, "/exhibit/", props["Path"])
}

// requireTrustNeedsExternalID: the trust policy has one statement, which
// lets only principal assume the role, and only with externalID.
func requireTrustNeedsExternalID(t *testing.T, doc any, principal, externalID string) {
	t.Helper()
	sts := statements(t, doc)
	require.Len(t, sts, 1)
	st := sts[0]
	require.Equal(t, "Allow", st["Effect"])
	require.Equal(t, []string{"sts:AssumeRole"}, actions(st))
	require.Equal(t, map[string]any{"AWS": principal}, st["Principal"])
	require.Equal(t, map[string]any{"StringEquals": map[string]any{"sts:ExternalId": externalID}}, st["Condition"])
	for _, k := range []string{"NotPrincipal", "NotAction"} {
		require.NotContains(t, st, k)
	}
}

// agentAttrs stands for what CloudFormation returns for the agent
// template's resources: the placeholders of store-writer-policy.json.
var agentAttrs = map[string]string{
	"EvidenceBucket": "EVIDENCE_BUCKET", "EvidenceBucket.Arn": "arn:aws:s3:::EVIDENCE_BUCKET",
	"SseKey.Arn":     "arn:aws:kms:REGION:ACCOUNT:key/SSE_KEY_ID",
	"SigningKey.Arn": "arn:aws:kms:REGION:ACCOUNT:key/SIGNING_KEY_ID",
	"AgentRole":      "exhibit-agent", "AgentRole.Arn": "arn:aws:iam::ACCOUNT:role/exhibit-agent",
	"AgentInstanceProfile.Arn": "arn:aws:iam::ACCOUNT:instance-profile/x",
	"StoreReaderRole.Arn":      "arn:aws:iam::ACCOUNT:role/exhibit-store-reader",
}

// The agent's role: its writer policy is store-writer-policy.json, statement
// for statement, with the bucket and keys the template creates (or those
// given); besides it, it may only assume the reader roles and list the
// organization's accounts.
func TestAgentTemplateWriterPolicyMatchesPolicyFile(t *testing.T) {
	tpl := loadTemplate(t, "aws/agent.yaml")
	b, err := os.ReadFile("aws/store-writer-policy.json")
	require.NoError(t, err)
	var file any
	require.NoError(t, json.Unmarshal(b, &file))
	want := statements(t, file)
	var wantActions []string
	for _, st := range want {
		wantActions = append(wantActions, actions(st)...)
	}

	for name, params := range map[string]map[string]string{
		"keys created": {},
		"keys given": {
			"SseKmsKeyArn":  "arn:aws:kms:REGION:ACCOUNT:key/SSE_KEY_ID",
			"SigningKeyArn": "arn:aws:kms:REGION:ACCOUNT:key/SIGNING_KEY_ID",
		},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := renderTemplate(tpl, params, agentAttrs)
			require.NoError(t, err)
			keys := resourcesOfType(t, r, "AWS::KMS::Key")
			if len(params) == 0 {
				require.Len(t, keys, 2)
				sign := keys["SigningKey"]["Properties"].(map[string]any)
				require.Equal(t, "ECC_NIST_P256", sign["KeySpec"], "the agent signs with ECDSA_SHA_256")
				require.Equal(t, "SIGN_VERIFY", sign["KeyUsage"])
			} else {
				require.Empty(t, keys)
			}
			roles := resourcesOfType(t, r, "AWS::IAM::Role")
			require.Len(t, roles, 2)
			pols := rolePolicies(t, roles["AgentRole"])
			require.Len(t, pols, 2)
			require.Equal(t, want, statements(t, pols["exhibit-store-writer"]))

			read := statements(t, pols["exhibit-read-accounts"])
			require.Len(t, read, 2)
			require.Equal(t, []string{"sts:AssumeRole"}, actions(read[0]))
			require.Equal(t, "arn:aws:iam::*:role/exhibit-reader", read[0]["Resource"])
			require.Equal(t, []string{"organizations:ListAccounts"}, actions(read[1]))
			require.Equal(t, "*", read[1]["Resource"])

			var all []string
			for _, doc := range pols {
				for _, st := range statements(t, doc) {
					require.Equal(t, "Allow", st["Effect"])
					all = append(all, actions(st)...)
				}
			}
			require.ElementsMatch(t, append(slices.Clone(wantActions), "sts:AssumeRole", "organizations:ListAccounts"), all)
			require.Subset(t, declaredAWSPermissions(), []string{"sts:AssumeRole", "organizations:ListAccounts"})
		})
	}

	// A reader role under a path is assumed under that path.
	r, err := renderTemplate(tpl, map[string]string{"ReaderRolePath": "/exhibit/", "ReaderRoleName": "reader"}, agentAttrs)
	require.NoError(t, err)
	read := statements(t, rolePolicies(t, r.Resources["AgentRole"])["exhibit-read-accounts"])
	require.Equal(t, "arn:aws:iam::*:role/exhibit/reader", read[0]["Resource"])
}

// The store bucket: Object Lock in COMPLIANCE mode with the retention
// parameter (2190 days by default), versioning, SSE-KMS with the key,
// every public access block, and a policy refusing anything but TLS.
func TestAgentTemplateStoreBucket(t *testing.T) {
	tpl := loadTemplate(t, "aws/agent.yaml")
	for _, tc := range []struct {
		params map[string]string
		days   string
		key    string
	}{
		{map[string]string{}, "2190", agentAttrs["SseKey.Arn"]},
		{map[string]string{"RetentionDays": "400", "SseKmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/k"}, "400", "arn:aws:kms:us-east-1:111122223333:key/k"},
	} {
		r, err := renderTemplate(tpl, tc.params, agentAttrs)
		require.NoError(t, err)
		buckets := resourcesOfType(t, r, "AWS::S3::Bucket")
		require.Len(t, buckets, 1)
		b := buckets["EvidenceBucket"]
		require.Equal(t, "Retain", b["DeletionPolicy"])
		props := b["Properties"].(map[string]any)
		require.NotContains(t, props, "BucketName", "CloudFormation names it when BucketName is empty")
		require.Equal(t, true, props["ObjectLockEnabled"])
		require.Equal(t, map[string]any{
			"ObjectLockEnabled": "Enabled",
			"Rule":              map[string]any{"DefaultRetention": map[string]any{"Mode": "COMPLIANCE", "Days": tc.days}},
		}, props["ObjectLockConfiguration"])
		require.Equal(t, map[string]any{"Status": "Enabled"}, props["VersioningConfiguration"])
		require.Equal(t, map[string]any{"ServerSideEncryptionConfiguration": []any{map[string]any{
			"BucketKeyEnabled":              true,
			"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": tc.key},
		}}}, props["BucketEncryption"])
		require.Equal(t, map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}, props["PublicAccessBlockConfiguration"])

		pols := resourcesOfType(t, r, "AWS::S3::BucketPolicy")
		require.Len(t, pols, 1)
		pp := pols["EvidenceBucketPolicy"]["Properties"].(map[string]any)
		require.Equal(t, "EVIDENCE_BUCKET", pp["Bucket"])
		sts := statements(t, pp["PolicyDocument"])
		require.Len(t, sts, 1)
		require.Equal(t, map[string]any{
			"Sid": "DenyWithoutTLS", "Effect": "Deny", "Principal": "*", "Action": []any{"s3:*"},
			"Resource":  []any{"arn:aws:s3:::EVIDENCE_BUCKET", "arn:aws:s3:::EVIDENCE_BUCKET/*"},
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		}, sts[0])
		require.Equal(t, tc.key, r.Outputs["SseKmsKeyArn"])
	}
}

// Who may assume the agent's role is the runtime's service, in this
// account (or, for a first run, this account's own principals), and
// nothing else; EC2 gets an instance profile.
func TestAgentTemplateTrust(t *testing.T) {
	tpl := loadTemplate(t, "aws/agent.yaml")
	runtimes := tpl["Parameters"].(map[string]any)["AgentRuntime"].(map[string]any)["AllowedValues"].([]any)
	require.ElementsMatch(t, []any{"ecs", "ec2", "eks-pod-identity", "account"}, runtimes)
	for _, tc := range []struct {
		runtime   string
		principal map[string]any
		actions   []string
		condition map[string]any
	}{
		{"ecs", map[string]any{"Service": "ecs-tasks.amazonaws.com"}, []string{"sts:AssumeRole"},
			map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": "ACCOUNT"}}},
		{"ec2", map[string]any{"Service": "ec2.amazonaws.com"}, []string{"sts:AssumeRole"}, nil},
		// Only the agent's service account, in its namespace, of this account.
		{"eks-pod-identity", map[string]any{"Service": "pods.eks.amazonaws.com"}, []string{"sts:AssumeRole", "sts:TagSession"},
			map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": "ACCOUNT",
				"aws:RequestTag/kubernetes-namespace": "exhibit", "aws:RequestTag/kubernetes-service-account": "exhibit"}}},
		// Principals of the agent's own account, as their own policies allow.
		{"account", map[string]any{"AWS": "arn:aws:iam::ACCOUNT:root"}, []string{"sts:AssumeRole"}, nil},
	} {
		t.Run(tc.runtime, func(t *testing.T) {
			r, err := renderTemplate(tpl, map[string]string{"AgentRuntime": tc.runtime}, agentAttrs)
			require.NoError(t, err)
			props := r.Resources["AgentRole"]["Properties"].(map[string]any)
			sts := statements(t, props["AssumeRolePolicyDocument"])
			require.Len(t, sts, 1)
			require.Equal(t, "Allow", sts[0]["Effect"])
			require.Equal(t, tc.principal, sts[0]["Principal"])
			require.Equal(t, tc.actions, actions(sts[0]))
			if tc.condition != nil {
				require.Equal(t, tc.condition, sts[0]["Condition"])
			} else {
				require.NotContains(t, sts[0], "Condition")
			}
			profiles := resourcesOfType(t, r, "AWS::IAM::InstanceProfile")
			_, hasOutput := r.Outputs["InstanceProfileArn"]
			require.Equal(t, tc.runtime == "ec2", len(profiles) == 1 && hasOutput, fmt.Sprint(profiles))
		})
	}
}

// policyPaths lists where v holds a policy document (a mapping with a
// Statement), by path.
func policyPaths(path string, v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["Statement"]; ok {
			*out = append(*out, path)
			return
		}
		for k, x := range v {
			policyPaths(path+"."+k, x, out)
		}
	case []any:
		for i, x := range v {
			policyPaths(fmt.Sprintf("%s[%d]", path, i), x, out)
		}
	}
}

// Every policy document in the templates is one the tests above check, so
// no grant can be added beside them unseen; the KMS key policies only
// delegate to the account's IAM policies (which are those checked).
func TestCloudFormationEveryPolicyIsChecked(t *testing.T) {
	reader, err := renderTemplate(loadTemplate(t, "aws/reader-role.yaml"), map[string]string{"AgentRoleArn": testAgentRole, "ExternalId": testExternalID},
		map[string]string{"ReaderRole": "r", "ReaderRole.Arn": "r"})
	require.NoError(t, err)
	agent, err := renderTemplate(loadTemplate(t, "aws/agent.yaml"), nil, agentAttrs)
	require.NoError(t, err)
	var paths []string
	for name, r := range reader.Resources {
		policyPaths("reader-role.yaml."+name, r, &paths)
	}
	for name, r := range agent.Resources {
		policyPaths("agent.yaml."+name, r, &paths)
	}
	require.ElementsMatch(t, []string{
		"reader-role.yaml.ReaderRole.Properties.AssumeRolePolicyDocument",
		"reader-role.yaml.ReaderRole.Properties.Policies[0].PolicyDocument",
		"agent.yaml.AgentRole.Properties.AssumeRolePolicyDocument",
		"agent.yaml.AgentRole.Properties.Policies[0].PolicyDocument",
		"agent.yaml.AgentRole.Properties.Policies[1].PolicyDocument",
		"agent.yaml.StoreReaderRole.Properties.AssumeRolePolicyDocument",
		"agent.yaml.StoreReaderRole.Properties.Policies[0].PolicyDocument",
		"agent.yaml.EvidenceBucketPolicy.Properties.PolicyDocument",
		"agent.yaml.SseKey.Properties.KeyPolicy",
		"agent.yaml.SigningKey.Properties.KeyPolicy",
	}, paths)
	for _, key := range []string{"SseKey", "SigningKey"} {
		sts := statements(t, agent.Resources[key]["Properties"].(map[string]any)["KeyPolicy"])
		require.Len(t, sts, 1, key)
		require.Equal(t, map[string]any{"AWS": "arn:aws:iam::ACCOUNT:root"}, sts[0]["Principal"], key)
		require.Equal(t, "Allow", sts[0]["Effect"], key)
		require.NotContains(t, sts[0], "Condition", key)
	}
}

// The store reader role holds store-reader-policy.json, statement for
// statement, and nothing else: what verify needs, no write. It trusts
// the account's principals, or the one principal given.
func TestAgentTemplateStoreReaderMatchesPolicyFile(t *testing.T) {
	tpl := loadTemplate(t, "aws/agent.yaml")
	b, err := os.ReadFile("aws/store-reader-policy.json")
	require.NoError(t, err)
	var file any
	require.NoError(t, json.Unmarshal(b, &file))
	for principal, params := range map[string]map[string]string{
		"arn:aws:iam::ACCOUNT:root":              nil,
		"arn:aws:iam::444455556666:role/auditor": {"StoreReaderPrincipalArn": "arn:aws:iam::444455556666:role/auditor", "SseKmsKeyArn": "arn:aws:kms:REGION:ACCOUNT:key/SSE_KEY_ID"},
	} {
		r, err := renderTemplate(tpl, params, agentAttrs)
		require.NoError(t, err)
		role := resourcesOfType(t, r, "AWS::IAM::Role")["StoreReaderRole"]
		require.NotNil(t, role)
		pols := rolePolicies(t, role)
		require.Len(t, pols, 1)
		require.Equal(t, statements(t, file), statements(t, pols["exhibit-store-reader"]))
		trust := statements(t, role["Properties"].(map[string]any)["AssumeRolePolicyDocument"])
		require.Len(t, trust, 1)
		require.Equal(t, map[string]any{"AWS": principal}, trust[0]["Principal"])
		require.Equal(t, []string{"sts:AssumeRole"}, actions(trust[0]))
	}
}
