package awscollector

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// detectorObserved is what a finding on a detector shows of it.
func detectorObserved(d *detectorState) map[string]any {
	obs := map[string]any{"region": d.region, "detector_id": d.id}
	if d.detector != nil {
		obs["status"] = string(d.detector.Status)
		features := map[string]any{}
		for _, f := range d.detector.Features {
			features[string(f.Name)] = string(f.Status)
		}
		obs["features"] = features
	}
	switch {
	case d.org != nil:
		obs["organization_auto_enable_members"] = d.org.members
	case d.orgNote != "":
		obs["organization_configuration"] = d.orgNote
	case d.orgErr != nil:
		obs["organization_configuration_error"] = d.orgErr.Error()
	}
	return obs
}

// guardDutyEnabled judges each region: a detector that is enabled passes
// — unless the account is the organization's administrator and members
// are not auto-enabled — a suspended detector or none at all fails.
func guardDutyEnabled(r *threatRegion) []evidence.Finding {
	if r.detectorsErr != nil {
		return []evidence.Finding{finding(checkGuardDutyEnabled, r.setting, evidence.Error,
			fmt.Sprintf("The GuardDuty detectors of region %s could not be listed.", r.region),
			map[string]any{"region": r.region, "error": r.detectorsErr.Error()})}
	}
	if len(r.detectors) == 0 {
		return []evidence.Finding{finding(checkGuardDutyEnabled, r.setting, evidence.Fail,
			fmt.Sprintf("GuardDuty is not enabled in region %s: no detector exists, so threats there go undetected.", r.region),
			map[string]any{"region": r.region, "detectors": 0})}
	}
	var out []evidence.Finding
	for _, d := range r.detectors {
		obs := detectorObserved(d)
		switch {
		case d.detectorErr != nil:
			obs["error"] = d.detectorErr.Error()
			out = append(out, finding(checkGuardDutyEnabled, d.arn, evidence.Error,
				fmt.Sprintf("GuardDuty detector %s in region %s could not be read.", d.id, r.region), obs))
		case d.detector.Status != gdtypes.DetectorStatusEnabled:
			out = append(out, finding(checkGuardDutyEnabled, d.arn, evidence.Fail,
				fmt.Sprintf("GuardDuty detector %s in region %s is %s: it analyses nothing.", d.id, r.region, d.detector.Status), obs))
		case d.org != nil && d.org.members == string(gdtypes.AutoEnableMembersNone):
			out = append(out, finding(checkGuardDutyEnabled, d.arn, evidence.Fail,
				fmt.Sprintf("GuardDuty is enabled in region %s, but as the organization's administrator it auto-enables no member account (NONE).", r.region), obs))
		default:
			reason := fmt.Sprintf("GuardDuty detector %s is enabled in region %s.", d.id, r.region)
			if d.org != nil {
				reason = fmt.Sprintf("GuardDuty detector %s is enabled in region %s, and auto-enables the organization's members (%s).", d.id, r.region, d.org.members)
			}
			out = append(out, finding(checkGuardDutyEnabled, d.arn, evidence.Pass, reason, obs))
		}
	}
	return out
}

// guardDutyFindings judges every unarchived high or critical finding:
// older than the threshold fails, younger passes. A detector whose
// listing found none passes on the detector; a region without a detector
// has no findings to judge.
func guardDutyFindings(r *threatRegion, part, acct string, now time.Time, maxDays int, phiTags map[string]string, conf bool) []evidence.Finding {
	if r.detectorsErr != nil {
		return []evidence.Finding{finding(checkGuardDutyFindings, r.setting, evidence.Error,
			fmt.Sprintf("The GuardDuty detectors of region %s could not be listed, so their findings were not read.", r.region),
			map[string]any{"region": r.region, "error": r.detectorsErr.Error()})}
	}
	if len(r.detectors) == 0 {
		return []evidence.Finding{finding(checkGuardDutyFindings, r.setting, evidence.NotApplicable,
			fmt.Sprintf("GuardDuty has no detector in region %s, so it holds no findings there (guardduty_enabled judges that).", r.region),
			map[string]any{"region": r.region})}
	}
	var out []evidence.Finding
	for _, d := range r.detectors {
		base := map[string]any{"region": r.region, "detector_id": d.id, "max_age_days": maxDays,
			"criteria": fmt.Sprintf("accountId = %s, severity >= %d, service.archived = false", acct, guardDutyMinSeverity)}
		if d.listErr != nil {
			base["error"] = d.listErr.Error()
			out = append(out, finding(checkGuardDutyFindings, d.arn, evidence.Error,
				fmt.Sprintf("The high and critical findings of GuardDuty detector %s in region %s could not be listed.", d.id, r.region), base))
			continue
		}
		if d.getErr != nil {
			base["error"] = d.getErr.Error()
			base["findings_listed"], base["findings_read"] = len(d.findingIDs), len(d.findings)
			out = append(out, finding(checkGuardDutyFindings, d.arn, evidence.Error,
				fmt.Sprintf("%d of the %d high and critical findings of GuardDuty detector %s in region %s could not be read.",
					len(d.findingIDs)-len(d.findings), len(d.findingIDs), d.id, r.region), base))
		}
		if len(d.findingIDs) == 0 {
			out = append(out, finding(checkGuardDutyFindings, d.arn, evidence.Pass,
				fmt.Sprintf("GuardDuty detector %s in region %s holds no unarchived high or critical finding.", d.id, r.region), base))
			continue
		}
		for _, f := range d.findings {
			out = append(out, judgeFinding(part, f, now, maxDays, phiTags, conf))
		}
	}
	return out
}

func findingObserved(f gdtypes.Finding) map[string]any {
	sev := aws.ToFloat64(f.Severity)
	obs := map[string]any{
		"finding_id": aws.ToString(f.Id), "finding_arn": aws.ToString(f.Arn), "type": aws.ToString(f.Type), "title": aws.ToString(f.Title),
		"severity": sev, "severity_label": severityLabel(sev), "created": aws.ToString(f.CreatedAt), "updated": aws.ToString(f.UpdatedAt),
	}
	if f.Resource != nil {
		obs["resource_type"] = aws.ToString(f.Resource.ResourceType)
	}
	if f.Service != nil {
		obs["archived"] = aws.ToBool(f.Service.Archived)
		obs["count"] = aws.ToInt32(f.Service.Count)
	}
	return obs
}

// judgeFinding fails a finding left unarchived past the threshold, from
// when GuardDuty first reported it, and passes a younger one.
func judgeFinding(part string, f gdtypes.Finding, now time.Time, maxDays int, phiTags map[string]string, conf bool) evidence.Finding {
	resource, tags, ok := findingResource(part, f)
	if !ok {
		resource = aws.ToString(f.Arn)
	}
	obs := findingObserved(f)
	obs["resource"] = resource
	typ, sev := aws.ToString(f.Type), aws.ToFloat64(f.Severity)
	created, err := time.Parse(time.RFC3339Nano, aws.ToString(f.CreatedAt))
	if err != nil {
		obs["error"] = fmt.Sprintf("createdAt %q is not a timestamp", aws.ToString(f.CreatedAt))
		return markPHI(finding(checkGuardDutyFindings, resource, evidence.Error,
			fmt.Sprintf("The age of GuardDuty finding %s (%s) could not be read.", aws.ToString(f.Id), typ), obs), conf, phiTagged(phiTags, tags), nil)
	}
	age := now.Sub(created)
	days := int(age.Hours() / 24)
	obs["age_days"] = days
	label := severityLabel(sev)
	if age > time.Duration(maxDays)*24*time.Hour {
		return markPHI(finding(checkGuardDutyFindings, resource, evidence.Fail,
			fmt.Sprintf("GuardDuty %s finding %s (severity %.1f) on %s has been open %d days, past the %d-day limit, neither archived nor resolved.",
				label, typ, sev, resource, days, maxDays), obs), conf, phiTagged(phiTags, tags), nil)
	}
	return markPHI(finding(checkGuardDutyFindings, resource, evidence.Pass,
		fmt.Sprintf("GuardDuty %s finding %s (severity %.1f) on %s is %d days old, within the %d-day limit.",
			label, typ, sev, resource, days, maxDays), obs), conf, phiTagged(phiTags, tags), nil)
}

func standardsList(subs []shtypes.StandardsSubscription) []map[string]any {
	out := []map[string]any{}
	for _, s := range subs {
		out = append(out, map[string]any{"standards_arn": aws.ToString(s.StandardsArn), "status": string(s.StandardsStatus)})
	}
	return out
}

// securityHubEnabled judges the region's hub: DescribeHub answering is
// enabled, InvalidAccessException is not enabled, anything else unknown.
func securityHubEnabled(r *threatRegion) evidence.Finding {
	obs := map[string]any{"region": r.region}
	switch {
	case r.hubErr != nil && hubNotEnabled(r.hubErr):
		obs["enabled"] = false
		obs["answer"] = r.hubErr.Error()
		return finding(checkSecurityHubEnabled, r.hub, evidence.Fail,
			fmt.Sprintf("Security Hub is not enabled in region %s: no security standard is checked there.", r.region), obs)
	case r.hubErr != nil:
		obs["error"] = r.hubErr.Error()
		return finding(checkSecurityHubEnabled, r.hub, evidence.Error,
			fmt.Sprintf("Whether Security Hub is enabled in region %s could not be read.", r.region), obs)
	}
	obs["enabled"] = true
	obs["subscribed_at"] = aws.ToString(r.hubOut.SubscribedAt)
	reason := fmt.Sprintf("Security Hub is enabled in region %s", r.region)
	if r.standardsErr != nil {
		obs["standards_error"] = r.standardsErr.Error()
		reason += "; its enabled standards could not be read."
	} else {
		obs["standards"] = standardsList(r.standards)
		names := []string{}
		for _, s := range r.standards {
			names = append(names, standardName(aws.ToString(s.StandardsArn)))
		}
		if len(names) == 0 {
			reason += " with no standard enabled."
		} else {
			reason += " with standards " + strings.Join(names, ", ") + "."
		}
	}
	return finding(checkSecurityHubEnabled, r.hub, evidence.Pass, reason, obs)
}

// standardName is the part of a standards ARN after standards/ or ruleset/.
func standardName(arn string) string {
	for _, sep := range []string{":standards/", ":ruleset/"} {
		if i := strings.Index(arn, sep); i >= 0 {
			return arn[i+len(sep):]
		}
	}
	return arn
}

// configRecording judges the region's AWS Config: a recorder recording
// every supported resource type, without a failed last recording, and a
// delivery channel whose last delivery did not fail. What was read and is
// wrong fails, naming each problem; otherwise anything unread is an error.
func configRecording(r *threatRegion) evidence.Finding {
	var problems, unread []string
	obs := map[string]any{"region": r.region}
	if r.recordersErr != nil {
		unread = append(unread, r.recordersErr.Error())
	} else if len(r.recorders) == 0 {
		problems = append(problems, "no configuration recorder")
	}
	var recs []map[string]any
	for _, rec := range r.recorders {
		m := map[string]any{"name": aws.ToString(rec.Name)}
		if g := rec.RecordingGroup; g != nil {
			m["all_supported"], m["include_global_resource_types"] = g.AllSupported, g.IncludeGlobalResourceTypes
			if !g.AllSupported {
				m["resource_types"] = resourceTypes(g.ResourceTypes)
				problems = append(problems, fmt.Sprintf("recorder %s records only %d resource types, not all supported", aws.ToString(rec.Name), len(g.ResourceTypes)))
			}
		} else {
			m["all_supported"] = true
		}
		recs = append(recs, m)
	}
	if recs != nil {
		obs["recorders"] = recs
	}
	if r.recStatusErr != nil {
		unread = append(unread, r.recStatusErr.Error())
	} else {
		var sts []map[string]any
		for _, st := range r.recStatus {
			name := aws.ToString(st.Name)
			m := map[string]any{"name": name, "recording": st.Recording, "last_status": string(st.LastStatus)}
			if st.LastStopTime != nil {
				m["last_stop"] = ts(aws.ToTime(st.LastStopTime))
			}
			if st.LastStartTime != nil {
				m["last_start"] = ts(aws.ToTime(st.LastStartTime))
			}
			if !st.Recording {
				since := ""
				if st.LastStopTime != nil {
					since = " since " + aws.ToTime(st.LastStopTime).UTC().Format(time.RFC3339)
				}
				problems = append(problems, fmt.Sprintf("recorder %s is stopped%s", name, since))
			} else if st.LastStatus == cfgtypes.RecorderStatusFailure {
				m["last_error"] = aws.ToString(st.LastErrorCode) + ": " + aws.ToString(st.LastErrorMessage)
				problems = append(problems, fmt.Sprintf("recorder %s's last recording failed (%s)", name, aws.ToString(st.LastErrorCode)))
			}
			sts = append(sts, m)
		}
		if sts != nil {
			obs["recorder_status"] = sts
		}
	}
	if r.channelsErr != nil {
		unread = append(unread, r.channelsErr.Error())
	} else {
		if len(r.channels) == 0 {
			problems = append(problems, "no delivery channel")
		}
		var chs []map[string]any
		for _, ch := range r.channels {
			m := map[string]any{"name": aws.ToString(ch.Name), "s3_bucket": aws.ToString(ch.S3BucketName)}
			if ch.SnsTopicARN != nil {
				m["sns_topic"] = aws.ToString(ch.SnsTopicARN)
			}
			chs = append(chs, m)
		}
		if chs != nil {
			obs["delivery_channels"] = chs
		}
	}
	if r.chStatusErr != nil {
		unread = append(unread, r.chStatusErr.Error())
	} else {
		var sts []map[string]any
		for _, st := range r.chStatus {
			name := aws.ToString(st.Name)
			m := map[string]any{"name": name}
			for _, d := range []struct {
				kind string
				info *cfgtypes.ConfigExportDeliveryInfo
			}{{"history", st.ConfigHistoryDeliveryInfo}, {"snapshot", st.ConfigSnapshotDeliveryInfo}} {
				if d.info == nil {
					continue
				}
				m[d.kind+"_last_status"] = string(d.info.LastStatus)
				if d.info.LastSuccessfulTime != nil {
					m[d.kind+"_last_success"] = ts(aws.ToTime(d.info.LastSuccessfulTime))
				}
				if d.info.LastStatus == cfgtypes.DeliveryStatusFailure {
					m[d.kind+"_last_error"] = aws.ToString(d.info.LastErrorCode) + ": " + aws.ToString(d.info.LastErrorMessage)
					problems = append(problems, fmt.Sprintf("delivery channel %s's last configuration %s delivery failed (%s)", name, d.kind, aws.ToString(d.info.LastErrorCode)))
				}
			}
			if st.ConfigStreamDeliveryInfo != nil && st.ConfigStreamDeliveryInfo.LastStatus == cfgtypes.DeliveryStatusFailure {
				m["stream_last_error"] = aws.ToString(st.ConfigStreamDeliveryInfo.LastErrorCode)
				problems = append(problems, fmt.Sprintf("delivery channel %s's last notification failed (%s)", name, aws.ToString(st.ConfigStreamDeliveryInfo.LastErrorCode)))
			}
			sts = append(sts, m)
		}
		if sts != nil {
			obs["delivery_status"] = sts
		}
	}
	switch {
	case len(problems) > 0:
		obs["problems"] = problems
		if len(unread) > 0 {
			obs["unread"] = unread
		}
		return finding(checkConfigRecording, r.config, evidence.Fail,
			fmt.Sprintf("AWS Config in region %s does not record every change: %s.", r.region, strings.Join(problems, "; ")), obs)
	case len(unread) > 0:
		obs["error"] = strings.Join(unread, "; ")
		return finding(checkConfigRecording, r.config, evidence.Error,
			fmt.Sprintf("Whether AWS Config records in region %s could not be read: %s.", r.region, strings.Join(unread, "; ")), obs)
	}
	return finding(checkConfigRecording, r.config, evidence.Pass,
		fmt.Sprintf("AWS Config in region %s records all supported resource types and delivers them without error.", r.region), obs)
}

func resourceTypes(ts []cfgtypes.ResourceType) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, string(t))
	}
	return out
}

// threatRecords are the region's settings as evidence: each detector, the
// hub and the recorders, whatever the verdicts.
func threatRecords(r *threatRegion, part, acct string) []evidence.Record {
	var out []evidence.Record
	for _, d := range r.detectors {
		out = append(out, evidence.Record{Type: "aws.guardduty.detector", ID: d.arn, Region: r.region, Attributes: detectorObserved(d)})
		for _, f := range d.findings {
			resource, _, ok := findingResource(part, f)
			attrs := findingObserved(f)
			if ok {
				attrs["resource"] = resource
			}
			out = append(out, evidence.Record{Type: "aws.guardduty.finding", ID: aws.ToString(f.Arn), Region: r.region, Attributes: attrs})
		}
	}
	hub := map[string]any{}
	switch {
	case r.hubErr != nil && hubNotEnabled(r.hubErr):
		hub["enabled"] = false
	case r.hubErr != nil:
		hub["unread"] = true
	default:
		hub["enabled"] = true
		if r.standardsErr == nil {
			hub["standards"] = standardsList(r.standards)
		}
	}
	out = append(out, evidence.Record{Type: "aws.securityhub.hub", ID: r.hub, Region: r.region, Attributes: hub})
	cfg := map[string]any{}
	if r.recordersErr != nil {
		cfg["unread"] = true
	} else {
		names := []string{}
		for _, rec := range r.recorders {
			names = append(names, aws.ToString(rec.Name))
		}
		cfg["recorders"] = names
		cfg["include_global_resource_types"] = recordsGlobal(r)
	}
	out = append(out, evidence.Record{Type: "aws.config.recorder", ID: r.config, Region: r.region, Attributes: cfg})
	return out
}

// recordsGlobal says whether a recorder of the region records global
// resource types (IAM users, roles, policies).
func recordsGlobal(r *threatRegion) bool {
	for _, rec := range r.recorders {
		if g := rec.RecordingGroup; g != nil && g.AllSupported && g.IncludeGlobalResourceTypes {
			return true
		}
	}
	return false
}

// globalResourcesRecord notes in which regions Config records global
// resource types: one is enough, and none leaves IAM changes unrecorded.
func globalResourcesRecord(root string, regions []*threatRegion) evidence.Record {
	in := []string{}
	unread := []string{}
	for _, r := range regions {
		switch {
		case r.recordersErr != nil:
			unread = append(unread, r.region)
		case recordsGlobal(r):
			in = append(in, r.region)
		}
	}
	sort.Strings(in)
	attrs := map[string]any{"regions": in, "recorded": len(in) > 0}
	if len(unread) > 0 {
		attrs["unread_regions"] = unread
	}
	return evidence.Record{Type: "aws.config.global_resource_types", ID: root, Attributes: attrs}
}
