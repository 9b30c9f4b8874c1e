package awssim

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
)

// CloudWatch Logs answers JSON 1.1 (DescribeMetricFilters pages with
// limit and nextToken; ListTagsForResource takes the log group's ARN
// without its ":*" suffix). The CloudWatch client of the SDK speaks Smithy
// RPC v2 CBOR (POST /service/GraniteServiceVersion20100801/operation/
// DescribeAlarms) and, CloudWatch being query-compatible, sends
// X-Amzn-Query-Mode and reads the error code from X-Amzn-Query-Error. EC2's
// DescribeVpcs and DescribeFlowLogs answer query XML like the other EC2
// calls, paged with MaxResults and NextToken.

// cloudwatchOperation names the RPC v2 CBOR operation from the request path.
func cloudwatchOperation(r *http.Request) string { return path.Base(r.URL.Path) }

func (g LogGroup) arn(acct string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", g.Region, acct, g.Name)
}

// logsMore answers the CloudWatch Logs calls beyond DescribeLogGroups.
func (s *Sim) logsMore(c *call) int {
	a := c.acct
	switch c.op {
	case "DescribeMetricFilters":
		group, prefix := c.str("logGroupName"), c.str("filterNamePrefix")
		if group != "" && !slices.ContainsFunc(a.LogGroups, func(g LogGroup) bool { return g.Region == c.region && g.Name == group }) {
			return c.fail(400, "ResourceNotFoundException", "The specified log group does not exist.")
		}
		var items []map[string]any
		for _, f := range a.MetricFilters {
			if f.Region != c.region || (group != "" && f.LogGroup != group) || !strings.HasPrefix(f.Name, prefix) {
				continue
			}
			items = append(items, map[string]any{
				"filterName": f.Name, "filterPattern": f.Pattern, "logGroupName": f.LogGroup,
				"creationTime": f.Created.UnixMilli(), "applyOnTransformedLogs": false,
				"metricTransformations": []map[string]any{{"metricName": f.MetricName, "metricNamespace": f.Namespace, "metricValue": "1", "defaultValue": 0}},
			})
		}
		// The service lists filters by log group, then filter name.
		sort.SliceStable(items, func(i, j int) bool {
			gi, gj := items[i]["logGroupName"].(string), items[j]["logGroupName"].(string)
			if gi != gj {
				return gi < gj
			}
			return items[i]["filterName"].(string) < items[j]["filterName"].(string)
		})
		start, end, next := page(len(items), s.pageSize(int(numberField(c.json, "limit"))), c.str("nextToken"))
		out := map[string]any{"metricFilters": append([]map[string]any{}, items[start:end]...)}
		if next != "" {
			out["nextToken"] = next
		}
		return c.jsonOK(out)
	case "ListTagsForResource":
		arn := c.str("resourceArn")
		for _, g := range a.LogGroups {
			if g.Region == c.region && g.arn(a.ID) == arn {
				tags := map[string]any{}
				for k, v := range g.Tags {
					tags[k] = v
				}
				return c.jsonOK(map[string]any{"tags": tags})
			}
		}
		return c.fail(400, "ResourceNotFoundException", "The specified resource does not exist.")
	}
	return c.fail(400, "UnknownOperationException", "CloudWatch Logs operation "+c.op+" is not simulated")
}

// monitoring answers CloudWatch's DescribeAlarms in RPC v2 CBOR.
func (s *Sim) monitoring(c *call) int {
	if c.op != "DescribeAlarms" {
		return c.fail(400, "InvalidAction", "CloudWatch operation "+c.op+" is not simulated")
	}
	metric := true
	if types, ok := c.json["AlarmTypes"].([]any); ok && len(types) > 0 {
		metric = slices.Contains(types, any("MetricAlarm"))
	}
	prefix, _ := c.json["AlarmNamePrefix"].(string)
	var items []map[string]any
	for _, al := range c.acct.Alarms {
		if !metric || al.Region != c.region || !strings.HasPrefix(al.Name, prefix) {
			continue
		}
		state := al.State
		if state == "" {
			state = "OK"
		}
		items = append(items, map[string]any{
			"AlarmName": al.Name, "AlarmArn": fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", al.Region, c.acct.ID, al.Name),
			"AlarmConfigurationUpdatedTimestamp": al.Updated, "ActionsEnabled": !al.ActionsDisabled,
			"OKActions": []string{}, "AlarmActions": append([]string{}, al.Actions...), "InsufficientDataActions": []string{},
			"StateValue": state, "StateReason": "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching].",
			"StateUpdatedTimestamp": al.Updated, "StateTransitionedTimestamp": al.Updated,
			"MetricName": al.MetricName, "Namespace": al.Namespace, "Statistic": "Sum", "Dimensions": []any{},
			"Period": 300, "EvaluationPeriods": 1, "DatapointsToAlarm": 1, "Threshold": 1.0,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
		})
	}
	sort.Slice(items, func(i, j int) bool { return items[i]["AlarmName"].(string) < items[j]["AlarmName"].(string) })
	start, end, next := page(len(items), s.pageSize(int(numberField(c.json, "MaxRecords"))), c.str("NextToken"))
	out := map[string]any{"MetricAlarms": append([]map[string]any{}, items[start:end]...), "CompositeAlarms": []any{}}
	if next != "" {
		out["NextToken"] = next
	}
	return c.cbor(200, out)
}

// cloudwatchFail writes a CloudWatch error as the service answers a
// query-compatible RPC v2 CBOR client: the error's shape in __type, its
// query code and fault in X-Amzn-Query-Error.
func (c *call) cloudwatchFail(status int, code, msg string) int {
	typ := code
	switch code {
	case "AccessDenied":
		typ = "AccessDeniedException"
	case "Throttling":
		typ = "ThrottlingException"
	case "InvalidClientTokenId":
		typ = "UnrecognizedClientException"
	case "InternalServiceError":
		typ = "com.amazonaws.cloudwatch#InternalServiceFault"
	case "InvalidNextToken":
		typ = "com.amazonaws.cloudwatch#InvalidNextToken"
	}
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	c.w.Header().Set("X-Amzn-Query-Error", code+";"+fault)
	return c.cbor(status, map[string]any{"__type": typ, "message": msg, "Message": msg})
}

// vpcs answers DescribeVpcs and DescribeFlowLogs.
func (s *Sim) vpcs(c *call) int {
	a := c.acct
	switch c.op {
	case "DescribeVpcs":
		type vpc struct {
			VpcID     string   `xml:"vpcId"`
			OwnerID   string   `xml:"ownerId"`
			State     string   `xml:"state"`
			CIDR      string   `xml:"cidrBlock"`
			DHCP      string   `xml:"dhcpOptionsId"`
			Tenancy   string   `xml:"instanceTenancy"`
			IsDefault bool     `xml:"isDefault"`
			Tags      []ec2Tag `xml:"tagSet>item"`
		}
		ids := c.list("VpcId")
		var out []vpc
		for _, v := range a.VPCs {
			if v.Region != c.region || (len(ids) > 0 && !slices.Contains(ids, v.ID)) {
				continue
			}
			out = append(out, vpc{VpcID: v.ID, OwnerID: a.ID, State: "available", CIDR: v.CIDR, DHCP: "dopt-0sim" + v.Region,
				Tenancy: "default", IsDefault: v.Default, Tags: ec2Tags(v.Tags)})
		}
		start, end, next := page(len(out), s.pageSize(c.maxResults()), c.form.Get("NextToken"))
		return c.ec2XML(struct {
			XMLName xml.Name `xml:"R"`
			VPCs    []vpc    `xml:"vpcSet>item"`
			Next    string   `xml:"nextToken,omitempty"`
		}{VPCs: out[start:end], Next: next})
	case "DescribeFlowLogs":
		type flowLog struct {
			Created      string `xml:"creationTime"`
			DeliverError string `xml:"deliverLogsErrorMessage,omitempty"`
			DeliverRole  string `xml:"deliverLogsPermissionArn,omitempty"`
			DeliverState string `xml:"deliverLogsStatus"`
			ID           string `xml:"flowLogId"`
			Status       string `xml:"flowLogStatus"`
			LogGroup     string `xml:"logGroupName,omitempty"`
			ResourceID   string `xml:"resourceId"`
			Traffic      string `xml:"trafficType"`
			DestType     string `xml:"logDestinationType"`
			Destination  string `xml:"logDestination"`
			Format       string `xml:"logFormat"`
			Interval     int    `xml:"maxAggregationInterval"`
		}
		var resources []string
		for i := 1; ; i++ {
			name := c.form.Get(fmt.Sprintf("Filter.%d.Name", i))
			if name == "" {
				break
			}
			if name == "resource-id" {
				resources = append(resources, c.list(fmt.Sprintf("Filter.%d.Value", i))...)
			}
		}
		var out []flowLog
		for _, f := range a.FlowLogs {
			if f.Region != c.region || (len(resources) > 0 && !slices.Contains(resources, f.ResourceID)) {
				continue
			}
			st, deliver := f.Status, "SUCCESS"
			if st == "" {
				st = "ACTIVE"
			}
			if f.DeliverError != "" {
				deliver = "FAILED"
			}
			fl := flowLog{Created: iso(f.Created), DeliverError: f.DeliverError, DeliverState: deliver, ID: f.ID, Status: st, ResourceID: f.ResourceID,
				Traffic: f.Traffic, DestType: f.DestinationType, Format: "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}", Interval: 600}
			switch f.DestinationType {
			case "cloud-watch-logs":
				fl.LogGroup = f.Destination
				fl.Destination = fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", f.Region, a.ID, f.Destination)
				fl.DeliverRole = fmt.Sprintf("arn:aws:iam::%s:role/flow-logs-delivery", a.ID)
			default:
				fl.Destination = f.Destination
			}
			out = append(out, fl)
		}
		start, end, next := page(len(out), s.pageSize(c.maxResults()), c.form.Get("NextToken"))
		return c.ec2XML(struct {
			XMLName  xml.Name  `xml:"R"`
			FlowLogs []flowLog `xml:"flowLogSet>item"`
			Next     string    `xml:"nextToken,omitempty"`
		}{FlowLogs: out[start:end], Next: next})
	}
	return c.fail(400, "InvalidAction", "The action "+c.op+" is not valid for this web service.")
}
