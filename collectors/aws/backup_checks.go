package awscollector

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// regionRecords inventories what was read in a region.
func regionRecords(r *backupRegion, win backupWindow) []evidence.Record {
	var out []evidence.Record
	for _, p := range r.plans {
		out = append(out, planRecord(p))
	}
	for _, v := range r.vaults {
		out = append(out, vaultRecord(r.region, v.v, win))
	}
	for _, p := range r.protected {
		out = append(out, protectedRecord(p, win))
	}
	for _, t := range r.testing {
		out = append(out, testingPlanRecord(t))
	}
	for _, t := range r.tagged {
		out = append(out, evidence.Record{Type: "aws.backup.phi_resource", ID: t.arn, Region: r.region, Attributes: map[string]any{"phi": true}})
	}
	return out
}

func protectedRecord(p protectedState, win backupWindow) evidence.Record {
	last := aws.ToTime(p.p.LastBackupTime)
	attrs := map[string]any{"resource_type": aws.ToString(p.p.ResourceType), "name": aws.ToString(p.p.ResourceName),
		"last_backup": ts(last), "last_backup_vault": aws.ToString(p.p.LastBackupVaultArn)}
	if !last.IsZero() {
		attrs["last_backup_age_hours"] = int(win.now.Sub(last).Hours())
		attrs["within_threshold"] = win.now.Sub(last) <= win.maxAge
	}
	return evidence.Record{Type: "aws.backup.protected_resource", ID: aws.ToString(p.p.ResourceArn), Region: p.region, Attributes: attrs}
}

// coverageFindings judges every resource tagged as holding ePHI: some
// selection of a backup plan with rules, in its region, must assign it.
func coverageFindings(root string, regions []*backupRegion, conf bool) []evidence.Finding {
	if !conf {
		return []evidence.Finding{finding(checkBackupPHICovered, root, evidence.NotApplicable,
			"sources.aws.phi_tags is not configured, so which resources hold ePHI is not known and their plan coverage is not judged.", nil)}
	}
	var out []evidence.Finding
	n := 0
	for _, r := range regions {
		if r.taggedErr != nil {
			out = append(out, finding(checkBackupPHICovered, root, evidence.Error,
				fmt.Sprintf("The resources tagged as holding ePHI in region %s could not be listed, so their backup plan coverage was not judged.", r.region),
				map[string]any{"region": r.region, "error": r.taggedErr.Error(), "resources_listed": len(r.tagged)}))
			continue
		}
		for _, t := range r.tagged {
			n++
			out = append(out, markPHI(coverage(t, r), true, true, nil))
		}
	}
	if n == 0 && len(out) == 0 {
		out = append(out, finding(checkBackupPHICovered, root, evidence.NotApplicable,
			"No resource of a type AWS Backup protects is tagged as holding ePHI in the regions read.", map[string]any{"phi_resources": 0}))
	}
	return out
}

func coverage(t taggedResource, r *backupRegion) evidence.Finding {
	if r.plansErr != nil {
		return finding(checkBackupPHICovered, t.arn, evidence.Error,
			fmt.Sprintf("The backup plans of region %s could not be listed, so whether one covers the resource is unknown.", r.region),
			map[string]any{"region": r.region, "error": r.plansErr.Error()})
	}
	var covering []map[string]any
	var unknown, noRules, excluded []string
	for _, p := range r.plans {
		if p.selectionsErr != nil {
			unknown = append(unknown, fmt.Sprintf("plan %s: its selections could not be listed: %v", p.name, p.selectionsErr))
		}
		for _, s := range p.selections {
			if s.err != nil {
				unknown = append(unknown, fmt.Sprintf("plan %s: selection %s could not be read: %v", p.name, s.name, s.err))
				continue
			}
			ok, err := selects(s.sel, t.arn, t.tags)
			switch {
			case err != nil:
				unknown = append(unknown, fmt.Sprintf("plan %s: selection %s: %v", p.name, s.name, err))
			case !ok:
				for _, nr := range s.sel.NotResources {
					if wildcardMatch(nr, t.arn) {
						excluded = append(excluded, fmt.Sprintf("plan %s: selection %s excludes it by NotResources %s", p.name, s.name, nr))
					}
				}
			case p.planErr != nil:
				unknown = append(unknown, fmt.Sprintf("plan %s: selection %s assigns it, but the plan's rules could not be read: %v", p.name, s.name, p.planErr))
			case len(p.plan.BackupPlan.Rules) == 0:
				noRules = append(noRules, fmt.Sprintf("plan %s (selection %s) has no rules", p.name, s.name))
			default:
				var vaults []string
				for _, rule := range p.plan.BackupPlan.Rules {
					vaults = append(vaults, aws.ToString(rule.RuleName)+" → "+aws.ToString(rule.TargetBackupVaultName))
				}
				covering = append(covering, map[string]any{"plan": p.name, "plan_arn": p.arn, "selection": s.name, "selection_id": s.id, "rules": vaults})
			}
		}
	}
	obs := map[string]any{"region": r.region, "plans_evaluated": len(r.plans)}
	if len(noRules) > 0 {
		obs["selected_by_plans_without_rules"] = noRules
	}
	if len(excluded) > 0 {
		obs["excluded_by"] = excluded
	}
	switch {
	case len(covering) > 0:
		obs["covered_by"] = covering
		return finding(checkBackupPHICovered, t.arn, evidence.Pass,
			fmt.Sprintf("Backup plan %s assigns the resource through selection %s.", covering[0]["plan"], covering[0]["selection"]), obs)
	case len(unknown) > 0:
		obs["unevaluated"] = unknown
		return finding(checkBackupPHICovered, t.arn, evidence.Error,
			"Whether a backup plan covers the resource is unknown: "+strings.Join(unknown, "; ")+".", obs)
	}
	return finding(checkBackupPHICovered, t.arn, evidence.Fail,
		fmt.Sprintf("No selection of the %d backup plans in region %s assigns the resource to a plan with rules.", len(r.plans), r.region), obs)
}

// recentBackupFindings judges every protected resource and every resource
// tagged as holding ePHI: its last backup must be within the threshold; a
// tagged resource AWS Backup holds no recovery point of was never backed
// up.
func recentBackupFindings(root string, regions []*backupRegion, conf bool, win backupWindow) []evidence.Finding {
	var out []evidence.Finding
	hours := int(win.maxAge.Hours())
	phi := phiIndex(regions)
	n := 0
	for _, r := range regions {
		if conf && r.taggedErr != nil {
			out = append(out, finding(checkBackupRecent, root, evidence.Error,
				fmt.Sprintf("The resources tagged as holding ePHI in region %s could not be listed, so one never backed up would not be seen.", r.region),
				map[string]any{"region": r.region, "error": r.taggedErr.Error()}))
		}
		if r.protectedErr != nil {
			out = append(out, finding(checkBackupRecent, root, evidence.Error,
				fmt.Sprintf("The protected resources of region %s could not all be listed, so their last backups were not read.", r.region),
				map[string]any{"region": r.region, "error": r.protectedErr.Error(), "resources_listed": len(r.protected)}))
			for _, t := range r.tagged {
				n++
				out = append(out, markPHI(finding(checkBackupRecent, t.arn, evidence.Error,
					fmt.Sprintf("The protected resources of region %s could not all be listed, so the resource's last backup was not read.", r.region),
					map[string]any{"region": r.region, "error": r.protectedErr.Error()}), true, true, nil))
			}
			continue
		}
		seen := map[string]bool{}
		for _, p := range r.protected {
			n++
			arn := aws.ToString(p.p.ResourceArn)
			seen[arn] = true
			last := aws.ToTime(p.p.LastBackupTime)
			obs := map[string]any{"last_backup": ts(last), "threshold_hours": hours, "resource_type": aws.ToString(p.p.ResourceType),
				"last_backup_vault": aws.ToString(p.p.LastBackupVaultArn)}
			var f evidence.Finding
			switch {
			case last.IsZero():
				f = finding(checkBackupRecent, arn, evidence.Fail, "AWS Backup records no last backup time for the resource.", obs)
			case win.now.Sub(last) > win.maxAge:
				obs["age_hours"] = int(win.now.Sub(last).Hours())
				f = finding(checkBackupRecent, arn, evidence.Fail,
					fmt.Sprintf("The last backup was %s, %d hours ago: none within the last %d hours.", ts(last), int(win.now.Sub(last).Hours()), hours), obs)
			default:
				obs["age_hours"] = int(win.now.Sub(last).Hours())
				f = finding(checkBackupRecent, arn, evidence.Pass,
					fmt.Sprintf("The last backup was %s, within the last %d hours.", ts(last), hours), obs)
			}
			isPHI, known := phi.lookup(arn)
			out = append(out, markPHI(f, conf, isPHI, known.err))
		}
		for _, t := range r.tagged {
			if seen[t.arn] {
				continue
			}
			n++
			out = append(out, markPHI(finding(checkBackupRecent, t.arn, evidence.Fail,
				fmt.Sprintf("AWS Backup holds no recovery point of the resource in region %s: it was never backed up, none within the last %d hours.", r.region, hours),
				map[string]any{"last_backup": nil, "threshold_hours": hours, "region": r.region}), true, true, nil))
		}
	}
	if n == 0 && len(out) == 0 {
		out = append(out, finding(checkBackupRecent, root, evidence.NotApplicable,
			"AWS Backup protects no resource in the regions read, and none is tagged as holding ePHI.", map[string]any{"protected_resources": 0}))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Resource < out[j].Resource })
	return out
}
