package awssim

import (
	"fmt"
)

func (t Trail) arn(acct string) string {
	if t.Owner != "" {
		acct = t.Owner
	}
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", t.HomeRegion, acct, t.Name)
}

func (s *Sim) findTrail(c *call, name string) *Trail {
	for i := range c.acct.Trails {
		t := &c.acct.Trails[i]
		if (name == t.Name || name == t.arn(c.acct.ID)) && t.HomeRegion == c.region {
			return t
		}
	}
	return nil
}

func (s *Sim) cloudtrail(c *call) int {
	a := c.acct
	switch c.op {
	case "DescribeTrails":
		shadows, ok := c.json["includeShadowTrails"].(bool)
		if !ok {
			shadows = true
		}
		list := []map[string]any{}
		for _, t := range a.Trails {
			if t.HomeRegion != c.region && !(shadows && t.MultiRegion) {
				continue
			}
			m := map[string]any{
				"Name": t.Name, "S3BucketName": t.Bucket, "IncludeGlobalServiceEvents": t.MultiRegion,
				"IsMultiRegionTrail": t.MultiRegion, "HomeRegion": t.HomeRegion, "TrailARN": t.arn(a.ID),
				"LogFileValidationEnabled": t.Validation, "HasCustomEventSelectors": false,
				"HasInsightSelectors": false, "IsOrganizationTrail": t.Owner != "",
			}
			if t.Prefix != "" {
				m["S3KeyPrefix"] = t.Prefix
			}
			if t.KMSKey != "" {
				m["KmsKeyId"] = t.KMSKey
			}
			if t.LogGroup != "" {
				m["CloudWatchLogsLogGroupArn"] = fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", t.HomeRegion, a.ID, t.LogGroup)
				m["CloudWatchLogsRoleArn"] = fmt.Sprintf("arn:aws:iam::%s:role/CloudTrail_CloudWatchLogs_Role", a.ID)
			}
			list = append(list, m)
		}
		return c.jsonOK(map[string]any{"trailList": list})
	case "GetTrailStatus":
		t := s.findTrail(c, c.str("Name"))
		if t == nil {
			return c.fail(400, "TrailNotFoundException", "Unknown trail: "+c.str("Name"))
		}
		out := map[string]any{"IsLogging": t.Logging}
		if !t.LastDelivery.IsZero() {
			out["LatestDeliveryTime"] = float64(t.LastDelivery.Unix())
			out["LatestDeliveryAttemptTime"] = t.LastDelivery.UTC().Format("2006-01-02T15:04:05Z")
			out["LatestDeliveryAttemptSucceeded"] = t.LastDelivery.UTC().Format("2006-01-02T15:04:05Z")
			out["StartLoggingTime"] = float64(s.Now.AddDate(-1, 0, 0).Unix())
		}
		if t.DeliveryError != "" {
			out["LatestDeliveryError"] = t.DeliveryError
		}
		if t.LogGroup != "" && !t.LastDelivery.IsZero() {
			out["LatestCloudWatchLogsDeliveryTime"] = float64(t.LastDelivery.Unix())
		}
		return c.jsonOK(out)
	case "GetEventSelectors":
		t := s.findTrail(c, c.str("TrailName"))
		if t == nil {
			return c.fail(400, "TrailNotFoundException", "Unknown trail: "+c.str("TrailName"))
		}
		sel := []map[string]any{}
		if t.ManagementRW != "" {
			sel = append(sel, map[string]any{"ReadWriteType": t.ManagementRW, "IncludeManagementEvents": true, "DataResources": []any{}, "ExcludeManagementEventSources": []any{}})
		}
		return c.jsonOK(map[string]any{"TrailARN": t.arn(a.ID), "EventSelectors": sel})
	}
	return c.fail(400, "UnknownOperationException", "CloudTrail operation "+c.op+" is not simulated")
}

func (s *Sim) logs(c *call) int {
	if c.op != "DescribeLogGroups" {
		return s.logsMore(c)
	}
	prefix := c.str("logGroupNamePrefix")
	var groups []map[string]any
	for _, g := range c.acct.LogGroups {
		if g.Region != c.region || len(g.Name) < len(prefix) || g.Name[:len(prefix)] != prefix {
			continue
		}
		m := map[string]any{
			"logGroupName": g.Name, "creationTime": s.Now.AddDate(-1, 0, 0).UnixMilli(), "metricFilterCount": 0,
			"arn":         fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", g.Region, c.acct.ID, g.Name),
			"logGroupArn": fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", g.Region, c.acct.ID, g.Name),
			"storedBytes": 123456, "logGroupClass": "STANDARD",
		}
		if g.Retention > 0 {
			m["retentionInDays"] = g.Retention
		}
		if g.KMSKey != "" {
			m["kmsKeyId"] = g.KMSKey
		}
		for _, f := range c.acct.MetricFilters {
			if f.Region == g.Region && f.LogGroup == g.Name {
				m["metricFilterCount"] = m["metricFilterCount"].(int) + 1
			}
		}
		groups = append(groups, m)
	}
	start, end, next := page(len(groups), s.pageSize(int(numberField(c.json, "limit"))), c.str("nextToken"))
	out := map[string]any{"logGroups": append([]map[string]any{}, groups[start:end]...)}
	if next != "" {
		out["nextToken"] = next
	}
	return c.jsonOK(out)
}
