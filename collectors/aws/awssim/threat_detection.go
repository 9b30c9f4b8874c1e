package awssim

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// GuardDuty and Security Hub answer REST-JSON: operations are routed by
// method and path. GuardDuty's members are lowerCamel ("detectorIds",
// "findingCriteria") and its timestamps strings (ISO 8601 with
// milliseconds) but for feature update times (epoch seconds); Security
// Hub's members are UpperCamel. AWS Config answers JSON 1.1
// (StarlingDoveService) with epoch-second dates.

// restJSONOperation names the GuardDuty or Security Hub operation a request
// calls, and the path labels it carries (the detector id).
func restJSONOperation(service string, r *http.Request) (op string, labels []string) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	switch service {
	case "guardduty":
		switch {
		case get && len(parts) == 1 && parts[0] == "detector":
			return "ListDetectors", nil
		case get && len(parts) == 2 && parts[0] == "detector":
			return "GetDetector", parts[1:]
		case post && len(parts) == 3 && parts[0] == "detector" && parts[2] == "findings":
			return "ListFindings", parts[1:2]
		case post && len(parts) == 4 && parts[0] == "detector" && parts[2] == "findings" && parts[3] == "get":
			return "GetFindings", parts[1:2]
		case get && len(parts) == 3 && parts[0] == "detector" && parts[2] == "admin":
			return "DescribeOrganizationConfiguration", parts[1:2]
		}
	case "securityhub":
		switch {
		case get && len(parts) == 1 && parts[0] == "accounts":
			return "DescribeHub", nil
		case post && len(parts) == 2 && parts[0] == "standards" && parts[1] == "get":
			return "GetEnabledStandards", nil
		}
	}
	return "Unknown", nil
}

// guardDutyTime is GuardDuty's string timestamp.
func guardDutyTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (d GuardDutyDetector) arn(acct string) string {
	return fmt.Sprintf("arn:aws:guardduty:%s:%s:detector/%s", d.Region, acct, d.ID)
}

// guardDutyPage pages items by a token and a requested size.
func (s *Sim) guardDutyPage(items []string, size int, token string) ([]string, string) {
	start, end, next := page(len(items), s.pageSize(size), token)
	return append([]string{}, items[start:end]...), next
}

func (s *Sim) guardduty(c *call) int {
	_, labels := restJSONOperation("guardduty", c.r)
	q := c.r.URL.Query()
	var det *GuardDutyDetector
	if len(labels) > 0 {
		for i := range c.acct.GuardDuty {
			if d := &c.acct.GuardDuty[i]; d.Region == c.region && d.ID == labels[0] {
				det = d
			}
		}
		if det == nil {
			return c.guardDutyBadRequest("The request is rejected because the input detectorId is not owned by the current account.")
		}
	}
	switch c.op {
	case "ListDetectors":
		var ids []string
		for _, d := range c.acct.GuardDuty {
			if d.Region == c.region {
				ids = append(ids, d.ID)
			}
		}
		size, _ := strconv.Atoi(q.Get("maxResults"))
		got, next := s.guardDutyPage(ids, size, q.Get("nextToken"))
		out := map[string]any{"detectorIds": got}
		if next != "" {
			out["nextToken"] = next
		}
		return c.restJSON(out)
	case "GetDetector":
		status := "ENABLED"
		if det.Disabled {
			status = "DISABLED"
		}
		features := []map[string]any{}
		for _, f := range det.Features {
			features = append(features, map[string]any{"name": f.Name, "status": f.Status, "updatedAt": epoch(det.Created)})
		}
		return c.restJSON(map[string]any{
			"createdAt": guardDutyTime(det.Created), "updatedAt": guardDutyTime(det.Created), "status": status,
			"findingPublishingFrequency": "SIX_HOURS", "features": features, "tags": map[string]string{},
			"serviceRole": fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty", c.acct.ID),
		})
	case "ListFindings":
		match, account, err := findingFilter(c.json)
		if err != "" {
			return c.guardDutyBadRequest(err)
		}
		var ids []string
		for _, f := range det.Findings {
			// Every finding the sim holds is the detector's own account's.
			if match(f) && (account == "" || account == c.acct.ID) {
				ids = append(ids, f.ID)
			}
		}
		token, _ := c.json["nextToken"].(string)
		got, next := s.guardDutyPage(ids, int(numberField(c.json, "maxResults")), token)
		out := map[string]any{"findingIds": got}
		if next != "" {
			out["nextToken"] = next
		}
		return c.restJSON(out)
	case "GetFindings":
		ids, _ := c.json["findingIds"].([]any)
		if len(ids) > 50 {
			return c.guardDutyBadRequest("The request is rejected because the findingIds list has more than 50 items.")
		}
		byID := make(map[string]GuardDutyFinding, len(det.Findings))
		for _, f := range det.Findings {
			byID[f.ID] = f
		}
		findings := []map[string]any{}
		for _, id := range ids {
			if f, ok := byID[fmt.Sprint(id)]; ok {
				findings = append(findings, guardDutyFinding(c.acct.ID, *det, f))
			}
		}
		return c.restJSON(map[string]any{"findings": findings})
	case "DescribeOrganizationConfiguration":
		if det.OrgAutoEnable == "" {
			return c.guardDutyBadRequest("The request is rejected because the current account is not the GuardDuty administrator account.")
		}
		var names []string
		for _, f := range det.Features {
			names = append(names, f.Name)
		}
		size, _ := strconv.Atoi(q.Get("maxResults"))
		got, next := s.guardDutyPage(names, size, q.Get("nextToken"))
		features := []map[string]any{}
		for _, n := range got {
			features = append(features, map[string]any{"name": n, "autoEnable": det.OrgAutoEnable})
		}
		out := map[string]any{"autoEnable": det.OrgAutoEnable != "NONE", "autoEnableOrganizationMembers": det.OrgAutoEnable,
			"memberAccountLimitReached": false, "features": features}
		if next != "" {
			out["nextToken"] = next
		}
		return c.restJSON(out)
	}
	return c.fail(404, "UnknownOperationException", "GuardDuty "+c.r.Method+" "+c.r.URL.Path+" is not simulated")
}

func (c *call) guardDutyBadRequest(msg string) int {
	return c.fail(400, "BadRequestException", msg)
}

// findingFilter applies the findingCriteria GuardDuty evaluates. The sim
// knows the criteria the collector relies on, severity, service.archived
// and accountId, in both their current and their deprecated spellings,
// and refuses any other, so a collector cannot silently ask for what the
// sim would ignore.
func findingFilter(body map[string]any) (match func(GuardDutyFinding) bool, account, errMsg string) {
	fc, _ := body["findingCriteria"].(map[string]any)
	crit, _ := fc["criterion"].(map[string]any)
	minSeverity, archived, account := -1.0, "", ""
	for key, v := range crit {
		cond, _ := v.(map[string]any)
		switch key {
		case "severity":
			for op, x := range cond {
				n, ok := x.(float64)
				switch {
				case !ok:
					return nil, "", "The request is rejected because an invalid or out-of-range value is specified as an input parameter."
				case op == "gte" || op == "greaterThanOrEqual":
					minSeverity = n
				case op == "gt" || op == "greaterThan":
					minSeverity = n + 1e-9
				default:
					return nil, "", "The request is rejected because the severity condition " + op + " is not simulated."
				}
			}
		case "accountId":
			for op, x := range cond {
				list, _ := x.([]any)
				if (op != "eq" && op != "equals") || len(list) != 1 {
					return nil, "", "The request is rejected because the accountId condition " + op + " is not simulated."
				}
				account, _ = list[0].(string)
			}
		case "service.archived":
			for op, x := range cond {
				list, _ := x.([]any)
				if (op != "eq" && op != "equals") || len(list) != 1 {
					return nil, "", "The request is rejected because the service.archived condition " + op + " is not simulated."
				}
				archived, _ = list[0].(string)
			}
		default:
			return nil, "", "The request is rejected because the criterion " + key + " is not simulated."
		}
	}
	return func(f GuardDutyFinding) bool {
		if f.Severity < minSeverity {
			return false
		}
		return archived == "" || archived == strconv.FormatBool(f.Archived)
	}, account, ""
}

func guardDutyFinding(acct string, d GuardDutyDetector, f GuardDutyFinding) map[string]any {
	res := map[string]any{}
	switch {
	case f.InstanceID != "":
		res = map[string]any{"resourceType": "Instance", "instanceDetails": map[string]any{
			"instanceId": f.InstanceID, "instanceType": "m5.large", "instanceState": "running", "availabilityZone": d.Region + "a",
			"imageId": "ami-0abcdef1234567890", "launchTime": guardDutyTime(f.Created.AddDate(0, 0, -30)),
			"tags": guardDutyTags(f.ResourceTags)}}
	case f.AccessKeyUser != "":
		res = map[string]any{"resourceType": "AccessKey", "accessKeyDetails": map[string]any{
			"accessKeyId": "ASIASIMEXAMPLE", "principalId": "AIDASIMEXAMPLE", "userName": f.AccessKeyUser, "userType": "IAMUser"}}
	case f.Bucket != "":
		res = map[string]any{"resourceType": "S3Bucket", "s3BucketDetails": []map[string]any{{
			"arn": "arn:aws:s3:::" + f.Bucket, "name": f.Bucket, "type": "Destination", "createdAt": epoch(f.Created.AddDate(-1, 0, 0)),
			"tags": guardDutyTags(f.ResourceTags)}}}
	}
	return map[string]any{
		"accountId": acct, "arn": fmt.Sprintf("%s/finding/%s", d.arn(acct), f.ID), "id": f.ID, "partition": "aws", "region": d.Region,
		"schemaVersion": "2.0", "type": f.Type, "title": f.Title, "description": f.Title + ".", "severity": f.Severity, "confidence": 8,
		"createdAt": guardDutyTime(f.Created), "updatedAt": guardDutyTime(f.Updated), "resource": res,
		"service": map[string]any{"serviceName": "guardduty", "detectorId": d.ID, "archived": f.Archived, "count": 12,
			"eventFirstSeen": guardDutyTime(f.Created), "eventLastSeen": guardDutyTime(f.Updated), "resourceRole": "TARGET"},
	}
}

// guardDutyTags is a tag map as GuardDuty lists it, sorted by key.
func guardDutyTags(tags map[string]string) []map[string]string {
	out := []map[string]string{}
	for _, k := range sortedKeys(tags) {
		out = append(out, map[string]string{"key": k, "value": tags[k]})
	}
	return out
}

func (h SecurityHub) arn(acct string) string {
	return fmt.Sprintf("arn:aws:securityhub:%s:%s:hub/default", h.Region, acct)
}

func (s *Sim) securityhub(c *call) int {
	var hub *SecurityHub
	for i := range c.acct.SecurityHubs {
		if h := &c.acct.SecurityHubs[i]; h.Region == c.region {
			hub = h
		}
	}
	if hub == nil && (c.op == "DescribeHub" || c.op == "GetEnabledStandards") {
		// Security Hub answers every call in a region where it is not
		// enabled with InvalidAccessException, status 401.
		return c.fail(401, "InvalidAccessException", fmt.Sprintf("Account %s is not subscribed to AWS Security Hub", c.acct.ID))
	}
	switch c.op {
	case "DescribeHub":
		return c.restJSON(map[string]any{"HubArn": hub.arn(c.acct.ID), "SubscribedAt": hub.Subscribed.UTC().Format("2006-01-02T15:04:05.000Z"),
			"AutoEnableControls": true, "ControlFindingGenerator": "SECURITY_CONTROL"})
	case "GetEnabledStandards":
		var items []map[string]any
		for _, std := range hub.Standards {
			name := std[strings.Index(std, ":standards/")+len(":standards/"):]
			if i := strings.Index(std, ":::ruleset/"); i >= 0 {
				name = std[i+len(":::ruleset/"):]
			}
			items = append(items, map[string]any{"StandardsArn": std,
				"StandardsSubscriptionArn": fmt.Sprintf("arn:aws:securityhub:%s:%s:subscription/%s", c.region, c.acct.ID, name),
				"StandardsInput":           map[string]string{}, "StandardsStatus": "READY", "StandardsControlsUpdatable": "READY_FOR_UPDATES"})
		}
		token, _ := c.json["NextToken"].(string)
		start, end, next := page(len(items), s.pageSize(int(numberField(c.json, "MaxResults"))), token)
		out := map[string]any{"StandardsSubscriptions": append([]map[string]any{}, items[start:end]...)}
		if next != "" {
			out["NextToken"] = next
		}
		return c.restJSON(out)
	}
	return c.fail(404, "UnknownOperationException", "Security Hub "+c.r.Method+" "+c.r.URL.Path+" is not simulated")
}

// config answers AWS Config's four describe calls. None of them pages:
// an account has at most one customer recorder and one delivery channel
// per region.
func (s *Sim) config(c *call) int {
	var reg ConfigRegion
	for _, r := range c.acct.Config {
		if r.Region == c.region {
			reg = r
		}
	}
	rec, ch := reg.Recorder, reg.Channel
	switch c.op {
	case "DescribeConfigurationRecorders":
		list := []map[string]any{}
		if rec != nil {
			strategy := "ALL_SUPPORTED_RESOURCE_TYPES"
			if !rec.AllSupported {
				strategy = "INCLUSION_BY_RESOURCE_TYPES"
			}
			types := append([]string{}, rec.ResourceTypes...)
			list = append(list, map[string]any{
				"name": rec.Name, "arn": fmt.Sprintf("arn:aws:config:%s:%s:configuration-recorder/%s/sim%s", c.region, c.acct.ID, rec.Name, c.region),
				"roleARN": fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig", c.acct.ID),
				"recordingGroup": map[string]any{"allSupported": rec.AllSupported, "includeGlobalResourceTypes": rec.IncludeGlobal,
					"resourceTypes": types, "exclusionByResourceTypes": map[string]any{"resourceTypes": []string{}},
					"recordingStrategy": map[string]any{"useOnly": strategy}},
				"recordingMode":  map[string]any{"recordingFrequency": "CONTINUOUS", "recordingModeOverrides": []any{}},
				"recordingScope": "PAID",
			})
		}
		return c.jsonOK(map[string]any{"ConfigurationRecorders": list})
	case "DescribeConfigurationRecorderStatus":
		list := []map[string]any{}
		if rec != nil {
			st := map[string]any{"name": rec.Name, "recording": rec.Recording, "lastStatus": rec.LastStatus,
				"lastStatusChangeTime": epoch(rec.LastStart)}
			if !rec.LastStart.IsZero() {
				st["lastStartTime"] = epoch(rec.LastStart)
			}
			if !rec.LastStop.IsZero() {
				st["lastStopTime"] = epoch(rec.LastStop)
				if rec.LastStop.After(rec.LastStart) {
					st["lastStatusChangeTime"] = epoch(rec.LastStop)
				}
			}
			if rec.LastErrorCode != "" {
				st["lastErrorCode"], st["lastErrorMessage"] = rec.LastErrorCode, rec.LastErrorMessage
			}
			list = append(list, st)
		}
		return c.jsonOK(map[string]any{"ConfigurationRecordersStatus": list})
	case "DescribeDeliveryChannels":
		list := []map[string]any{}
		if ch != nil {
			m := map[string]any{"name": ch.Name, "s3BucketName": ch.Bucket,
				"configSnapshotDeliveryProperties": map[string]any{"deliveryFrequency": "TwentyFour_Hours"}}
			if ch.SNSTopic != "" {
				m["snsTopicARN"] = ch.SNSTopic
			}
			list = append(list, m)
		}
		return c.jsonOK(map[string]any{"DeliveryChannels": list})
	case "DescribeDeliveryChannelStatus":
		list := []map[string]any{}
		if ch != nil {
			info := map[string]any{"lastStatus": ch.LastStatus, "lastAttemptTime": epoch(ch.LastAttempt),
				"nextDeliveryTime": epoch(ch.LastAttempt.Add(24 * time.Hour))}
			if !ch.LastSuccess.IsZero() {
				info["lastSuccessfulTime"] = epoch(ch.LastSuccess)
			}
			if ch.LastErrorCode != "" {
				info["lastErrorCode"], info["lastErrorMessage"] = ch.LastErrorCode, ch.LastErrorMessage
			}
			list = append(list, map[string]any{"name": ch.Name, "configHistoryDeliveryInfo": info, "configSnapshotDeliveryInfo": info,
				"configStreamDeliveryInfo": map[string]any{"lastStatus": "Not_Applicable"}})
		}
		return c.jsonOK(map[string]any{"DeliveryChannelsStatus": list})
	}
	return c.fail(400, "UnknownOperationException", "AWS Config operation "+c.op+" is not simulated")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
