package awssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	smithycbor "github.com/aws/smithy-go/encoding/cbor"
)

// AWS Backup answers REST-JSON: operations are routed by method and path,
// inputs come in the path and query string (timestamps there in ISO 8601),
// answers are JSON with timestamps as epoch seconds. The Resource Groups
// Tagging API client speaks Smithy RPC v2 CBOR (POST
// /service/ResourceGroupsTaggingAPI_20170126/operation/GetResources), so
// the sim decodes and answers CBOR as the service does for that client.

// backupOperation names the REST-JSON Backup operation a request calls.
func backupOperation(r *http.Request) (op string, labels []string) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method != http.MethodGet {
		return "Unsupported" + r.Method, nil
	}
	switch {
	case len(parts) == 2 && parts[0] == "backup" && parts[1] == "plans":
		return "ListBackupPlans", nil
	case len(parts) == 3 && parts[0] == "backup" && parts[1] == "plans":
		return "GetBackupPlan", parts[2:]
	case len(parts) == 4 && parts[0] == "backup" && parts[3] == "selections":
		return "ListBackupSelections", parts[2:3]
	case len(parts) == 5 && parts[0] == "backup" && parts[3] == "selections":
		return "GetBackupSelection", []string{parts[2], parts[4]}
	case len(parts) == 1 && parts[0] == "backup-vaults":
		return "ListBackupVaults", nil
	case len(parts) == 1 && parts[0] == "resources":
		return "ListProtectedResources", nil
	case len(parts) == 1 && parts[0] == "backup-jobs":
		return "ListBackupJobs", nil
	case len(parts) == 1 && parts[0] == "restore-jobs":
		return "ListRestoreJobs", nil
	case len(parts) == 2 && parts[0] == "restore-testing" && parts[1] == "plans":
		return "ListRestoreTestingPlans", nil
	}
	return "Unknown", nil
}

func epoch(t time.Time) float64 { return float64(t.Unix()) }

func (p BackupPlan) arn(acct string) string {
	return fmt.Sprintf("arn:aws:backup:%s:%s:backup-plan:%s", p.Region, acct, p.ID)
}

func (v BackupVault) arn(acct string) string {
	return fmt.Sprintf("arn:aws:backup:%s:%s:backup-vault:%s", v.Region, acct, v.Name)
}

// backupPage pages items by the query's nextToken and maxResults (or the
// restore testing API's NextToken and MaxResults).
func (s *Sim) backupPage(q url.Values, items []map[string]any, listKey, tokenKey, sizeKey string) map[string]any {
	size, _ := strconv.Atoi(q.Get(sizeKey))
	start, end, next := page(len(items), s.pageSize(size), q.Get(tokenKey))
	out := map[string]any{listKey: append([]map[string]any{}, items[start:end]...)}
	if next != "" {
		out["NextToken"] = next
	}
	return out
}

// queryTime reads an ISO 8601 timestamp from the query string.
func queryTime(q url.Values, key string) (time.Time, bool) {
	v := q.Get(key)
	if v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

func (s *Sim) backup(c *call) int {
	op, labels := backupOperation(c.r)
	q := c.r.URL.Query()
	b := &c.acct.Backup
	findPlan := func(id string) *BackupPlan {
		for i := range b.Plans {
			if p := &b.Plans[i]; p.Region == c.region && p.ID == id {
				return p
			}
		}
		return nil
	}
	planGone := func(id string) int {
		return c.fail(404, "ResourceNotFoundException", "Failed reading Backup plan with provided version: "+id)
	}
	switch op {
	case "ListBackupPlans":
		var items []map[string]any
		for _, p := range b.Plans {
			if p.Region == c.region {
				items = append(items, map[string]any{"BackupPlanArn": p.arn(c.acct.ID), "BackupPlanId": p.ID, "BackupPlanName": p.Name,
					"CreationDate": epoch(p.Created), "VersionId": "v1-" + p.ID, "LastExecutionDate": epoch(s.Now.Add(-5 * time.Hour))})
			}
		}
		return c.restJSON(s.backupPage(q, items, "BackupPlansList", "nextToken", "maxResults"))
	case "GetBackupPlan":
		p := findPlan(labels[0])
		if p == nil {
			return planGone(labels[0])
		}
		rules := []map[string]any{}
		for _, r := range p.Rules {
			rule := map[string]any{"RuleName": r.Name, "RuleId": p.ID + "-" + r.Name, "TargetBackupVaultName": r.Vault,
				"ScheduleExpression": r.Schedule, "ScheduleExpressionTimezone": "Etc/UTC", "StartWindowMinutes": 60, "CompletionWindowMinutes": 10080}
			if r.DeleteAfterDays > 0 {
				rule["Lifecycle"] = map[string]any{"DeleteAfterDays": r.DeleteAfterDays}
			}
			rules = append(rules, rule)
		}
		return c.restJSON(map[string]any{"BackupPlanId": p.ID, "BackupPlanArn": p.arn(c.acct.ID), "VersionId": "v1-" + p.ID, "CreationDate": epoch(p.Created),
			"BackupPlan": map[string]any{"BackupPlanName": p.Name, "Rules": rules}})
	case "ListBackupSelections":
		p := findPlan(labels[0])
		if p == nil {
			return planGone(labels[0])
		}
		var items []map[string]any
		for _, sel := range p.Selections {
			items = append(items, map[string]any{"SelectionId": sel.ID, "SelectionName": sel.Name, "BackupPlanId": p.ID,
				"CreationDate": epoch(p.Created), "IamRoleArn": fmt.Sprintf("arn:aws:iam::%s:role/service-role/AWSBackupDefaultServiceRole", c.acct.ID)})
		}
		return c.restJSON(s.backupPage(q, items, "BackupSelectionsList", "nextToken", "maxResults"))
	case "GetBackupSelection":
		p := findPlan(labels[0])
		if p == nil {
			return planGone(labels[0])
		}
		for _, sel := range p.Selections {
			if sel.ID != labels[1] {
				continue
			}
			body := map[string]any{"SelectionName": sel.Name, "IamRoleArn": fmt.Sprintf("arn:aws:iam::%s:role/service-role/AWSBackupDefaultServiceRole", c.acct.ID)}
			if sel.Resources != nil {
				body["Resources"] = sel.Resources
			}
			if sel.NotResources != nil {
				body["NotResources"] = sel.NotResources
			}
			if sel.ListOfTags != nil {
				var tags []map[string]any
				for _, t := range sel.ListOfTags {
					tags = append(tags, map[string]any{"ConditionType": "STRINGEQUALS", "ConditionKey": t.Key, "ConditionValue": t.Value})
				}
				body["ListOfTags"] = tags
			}
			conds := map[string]any{}
			for _, k := range []string{"StringEquals", "StringNotEquals", "StringLike", "StringNotLike"} {
				list := []map[string]any{}
				for _, t := range sel.Conditions[k] {
					list = append(list, map[string]any{"ConditionKey": t.Key, "ConditionValue": t.Value})
				}
				conds[k] = list
			}
			body["Conditions"] = conds
			return c.restJSON(map[string]any{"BackupPlanId": p.ID, "SelectionId": sel.ID, "CreationDate": epoch(p.Created), "BackupSelection": body})
		}
		return c.fail(404, "ResourceNotFoundException", "Selection "+labels[1]+" not found")
	case "ListBackupVaults":
		var items []map[string]any
		for _, v := range b.Vaults {
			if v.Region != c.region {
				continue
			}
			item := map[string]any{"BackupVaultName": v.Name, "BackupVaultArn": v.arn(c.acct.ID), "VaultType": "BACKUP_VAULT", "VaultState": "AVAILABLE",
				"CreationDate": epoch(v.Created), "EncryptionKeyType": "AWS_OWNED_KMS_KEY", "NumberOfRecoveryPoints": v.RecoveryPoints, "Locked": v.Locked}
			if v.MinRetentionDays > 0 {
				item["MinRetentionDays"] = v.MinRetentionDays
				item["MaxRetentionDays"] = v.MaxRetentionDays
				if !v.LockDate.IsZero() {
					item["LockDate"] = epoch(v.LockDate)
				}
			}
			items = append(items, item)
		}
		return c.restJSON(s.backupPage(q, items, "BackupVaultList", "nextToken", "maxResults"))
	case "ListProtectedResources":
		var items []map[string]any
		for _, p := range b.Protected {
			if p.Region == c.region {
				items = append(items, map[string]any{"ResourceArn": p.ARN, "ResourceType": p.Type, "ResourceName": p.Name, "LastBackupTime": epoch(p.LastBackup),
					"LastBackupVaultArn":   BackupVault{Name: p.Vault, Region: p.Region}.arn(c.acct.ID),
					"LastRecoveryPointArn": fmt.Sprintf("arn:aws:backup:%s:%s:recovery-point:%s-%d", p.Region, c.acct.ID, p.Name, p.LastBackup.Unix())})
			}
		}
		return c.restJSON(s.backupPage(q, items, "Results", "nextToken", "maxResults"))
	case "ListBackupJobs":
		after, hasAfter := queryTime(q, "createdAfter")
		jobs := append([]BackupJob(nil), b.Jobs...)
		sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].Created.After(jobs[j].Created) })
		var items []map[string]any
		for _, j := range jobs {
			if j.Region != c.region || (hasAfter && j.Created.Before(after)) || (q.Get("state") != "" && q.Get("state") != j.State) {
				continue
			}
			item := map[string]any{"AccountId": c.acct.ID, "BackupJobId": j.ID, "BackupVaultName": j.Vault,
				"BackupVaultArn": BackupVault{Name: j.Vault, Region: j.Region}.arn(c.acct.ID), "ResourceArn": j.ResourceARN, "ResourceType": j.ResourceType,
				"CreationDate": epoch(j.Created), "State": j.State, "BackupType": "", "IamRoleArn": fmt.Sprintf("arn:aws:iam::%s:role/service-role/AWSBackupDefaultServiceRole", c.acct.ID)}
			if j.StatusMessage != "" {
				item["StatusMessage"] = j.StatusMessage
			}
			if !j.Completed.IsZero() {
				item["CompletionDate"] = epoch(j.Completed)
			}
			items = append(items, item)
		}
		return c.restJSON(s.backupPage(q, items, "BackupJobs", "nextToken", "maxResults"))
	case "ListRestoreJobs":
		after, hasAfter := queryTime(q, "createdAfter")
		jobs := append([]RestoreJob(nil), b.Restores...)
		sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].Created.After(jobs[j].Created) })
		var items []map[string]any
		for _, j := range jobs {
			if j.Region != c.region || (hasAfter && j.Created.Before(after)) || (q.Get("status") != "" && q.Get("status") != j.Status) {
				continue
			}
			item := map[string]any{"AccountId": c.acct.ID, "RestoreJobId": j.ID, "SourceResourceArn": j.SourceARN, "ResourceType": j.ResourceType,
				"RecoveryPointArn": fmt.Sprintf("arn:aws:backup:%s:%s:recovery-point:%s", j.Region, c.acct.ID, j.ID),
				"CreationDate":     epoch(j.Created), "Status": j.Status, "PercentDone": "100.0"}
			if j.CreatedARN != "" {
				item["CreatedResourceArn"] = j.CreatedARN
			}
			if j.StatusMessage != "" {
				item["StatusMessage"] = j.StatusMessage
			}
			if !j.Completed.IsZero() {
				item["CompletionDate"] = epoch(j.Completed)
			}
			if j.TestingPlan != "" {
				item["CreatedBy"] = map[string]any{"RestoreTestingPlanArn": j.TestingPlan}
			}
			items = append(items, item)
		}
		return c.restJSON(s.backupPage(q, items, "RestoreJobs", "nextToken", "maxResults"))
	case "ListRestoreTestingPlans":
		var items []map[string]any
		for _, p := range b.TestingPlans {
			if p.Region == c.region {
				item := map[string]any{"RestoreTestingPlanName": p.Name, "RestoreTestingPlanArn": fmt.Sprintf("arn:aws:backup:%s:%s:restore-testing-plan:%s", p.Region, c.acct.ID, p.Name),
					"ScheduleExpression": p.Schedule, "ScheduleExpressionTimezone": "Etc/UTC", "CreationTime": epoch(p.Created), "StartWindowHours": 24}
				if !p.LastRun.IsZero() {
					item["LastExecutionTime"] = epoch(p.LastRun)
				}
				items = append(items, item)
			}
		}
		return c.restJSON(s.backupPage(q, items, "RestoreTestingPlans", "NextToken", "MaxResults"))
	}
	return c.fail(404, "UnknownOperationException", "Backup "+c.r.Method+" "+c.r.URL.Path+" is not simulated")
}

// restJSON writes a REST-JSON answer.
func (c *call) restJSON(v any) int {
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("X-Amzn-Requestid", requestID())
	c.w.WriteHeader(200)
	_ = json.NewEncoder(c.w).Encode(v)
	return 200
}

// taggingOperation names the RPC v2 CBOR operation from the request path.
func taggingOperation(r *http.Request) string { return path.Base(r.URL.Path) }

// fromCBOR turns a decoded CBOR value into the map/slice/string form the
// handlers read, as JSON decoding would.
func fromCBOR(v smithycbor.Value) any {
	switch x := v.(type) {
	case smithycbor.Map:
		m := map[string]any{}
		for k, e := range x {
			m[k] = fromCBOR(e)
		}
		return m
	case smithycbor.List:
		l := make([]any, 0, len(x))
		for _, e := range x {
			l = append(l, fromCBOR(e))
		}
		return l
	case smithycbor.String:
		return string(x)
	case smithycbor.Uint:
		return float64(x)
	case smithycbor.NegInt:
		return -float64(x)
	case smithycbor.Bool:
		return bool(x)
	case smithycbor.Float64:
		return float64(x)
	case smithycbor.Float32:
		return float64(x)
	}
	return nil
}

// toCBOR encodes an answer built of maps, slices, strings and numbers.
func toCBOR(v any) smithycbor.Value {
	switch x := v.(type) {
	case map[string]any:
		m := smithycbor.Map{}
		for k, e := range x {
			m[k] = toCBOR(e)
		}
		return m
	case []map[string]any:
		l := smithycbor.List{}
		for _, e := range x {
			l = append(l, toCBOR(e))
		}
		return l
	case []any:
		l := smithycbor.List{}
		for _, e := range x {
			l = append(l, toCBOR(e))
		}
		return l
	case []string:
		l := smithycbor.List{}
		for _, e := range x {
			l = append(l, smithycbor.String(e))
		}
		return l
	case string:
		return smithycbor.String(x)
	case bool:
		return smithycbor.Bool(x)
	case int:
		return smithycbor.Uint(x)
	case float64:
		return smithycbor.Float64(x)
	case time.Time:
		// RPC v2 CBOR timestamps: tag 1, epoch seconds.
		return smithycbor.Tag{ID: 1, Value: smithycbor.Float64(float64(x.UnixMilli()) / 1000)}
	}
	return &smithycbor.Nil{}
}

func decodeCBOR(body []byte) map[string]any {
	if len(body) == 0 {
		return map[string]any{}
	}
	v, err := smithycbor.Decode(body)
	if err != nil {
		return map[string]any{}
	}
	m, _ := fromCBOR(v).(map[string]any)
	return m
}

// cbor writes an RPC v2 CBOR answer.
func (c *call) cbor(status int, v any) int {
	h := c.w.Header()
	h.Set("Content-Type", "application/cbor")
	h.Set("Smithy-Protocol", "rpc-v2-cbor")
	h.Set("X-Amzn-Requestid", requestID())
	c.w.WriteHeader(status)
	_, _ = c.w.Write(smithycbor.Encode(toCBOR(v)))
	return status
}

// tagging answers GetResources: the resources of the region with every
// tag filter's key (and one of its values, when it names values), of the
// resource types asked for.
func (s *Sim) tagging(c *call) int {
	if c.op != "GetResources" {
		return c.fail(400, "InvalidParameterException", "Tagging operation "+c.op+" is not simulated")
	}
	filters, _ := c.json["TagFilters"].([]any)
	types, _ := c.json["ResourceTypeFilters"].([]any)
	var items []map[string]any
	for _, r := range c.acct.TaggedResources {
		if r.Region != c.region || !taggedMatches(r, filters) || !typeMatches(r.ARN, types) {
			continue
		}
		items = append(items, map[string]any{"ResourceARN": r.ARN, "Tags": tagList(r.Tags, "Key", "Value")})
	}
	sort.Slice(items, func(i, j int) bool { return items[i]["ResourceARN"].(string) < items[j]["ResourceARN"].(string) })
	start, end, next := page(len(items), s.pageSize(int(numberField(c.json, "ResourcesPerPage"))), c.str("PaginationToken"))
	return c.cbor(200, map[string]any{"ResourceTagMappingList": append([]map[string]any{}, items[start:end]...), "PaginationToken": next})
}

func taggedMatches(r TaggedResource, filters []any) bool {
	for _, f := range filters {
		m, _ := f.(map[string]any)
		key, _ := m["Key"].(string)
		v, ok := r.Tags[key]
		if !ok {
			return false
		}
		if vals, _ := m["Values"].([]any); len(vals) > 0 {
			found := false
			for _, want := range vals {
				if want == v {
					found = true
				}
			}
			if !found {
				return false
			}
		}
	}
	return true
}

// typeMatches says whether an ARN is of one of the types ("service" or
// "service:resourceType") asked for; no filter matches everything.
func typeMatches(arn string, types []any) bool {
	if len(types) == 0 {
		return true
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return false
	}
	res := parts[5]
	if i := strings.IndexAny(res, "/:"); i >= 0 {
		res = res[:i]
	}
	for _, t := range types {
		ts, _ := t.(string)
		if ts == parts[2] || ts == parts[2]+":"+res {
			return true
		}
	}
	return false
}
