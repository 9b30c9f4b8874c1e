package awscollector

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	bktypes "github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// planState is one backup plan: its rules and its resource selections.
type planState struct {
	id, arn, name, region string
	plan                  *backup.GetBackupPlanOutput
	planErr               error
	selections            []*selectionState
	// selectionsErr is ListBackupSelections failing: the plan may cover
	// resources nobody knows of.
	selectionsErr error
}

// selectionState is one resource selection of a plan.
type selectionState struct {
	id, name string
	sel      *bktypes.BackupSelection
	err      error
}

func listPlans(ctx context.Context, api backupAPI, region string) ([]*planState, error) {
	var got []*planState
	p := backup.NewListBackupPlansPaginator(api, &backup.ListBackupPlansInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return got, fmt.Errorf("list backup plans: %w", err)
		}
		for _, m := range page.BackupPlansList {
			got = append(got, &planState{id: aws.ToString(m.BackupPlanId), arn: aws.ToString(m.BackupPlanArn), name: aws.ToString(m.BackupPlanName), region: region})
		}
	}
	return got, nil
}

// readPlan reads a plan's rules, lists its selections and reads each one.
func (c *backupCollector) readPlan(ctx context.Context, api backupAPI, p *planState) {
	out, err := api.GetBackupPlan(ctx, &backup.GetBackupPlanInput{BackupPlanId: aws.String(p.id)})
	if err != nil {
		p.planErr = fmt.Errorf("get backup plan: %w", err)
	} else {
		p.plan = out
	}
	pg := backup.NewListBackupSelectionsPaginator(api, &backup.ListBackupSelectionsInput{BackupPlanId: aws.String(p.id), MaxResults: aws.Int32(1000)})
	var sels []*selectionState
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			p.selectionsErr = fmt.Errorf("list backup selections: %w", err)
			break
		}
		for _, s := range page.BackupSelectionsList {
			sels = append(sels, &selectionState{id: aws.ToString(s.SelectionId), name: aws.ToString(s.SelectionName)})
		}
	}
	p.selections = sels
	for _, s := range sels {
		out, err := api.GetBackupSelection(ctx, &backup.GetBackupSelectionInput{BackupPlanId: aws.String(p.id), SelectionId: aws.String(s.id)})
		if err != nil {
			s.err = fmt.Errorf("get backup selection %s: %w", s.id, err)
			continue
		}
		s.sel = out.BackupSelection
	}
}

func (p *planState) addErrors(partial *collector.PartialError, acct string) {
	w := where(acct, p.region, p.arn)
	if p.planErr != nil {
		partial.Add(w, "backup:GetBackupPlan", p.planErr)
	}
	if p.selectionsErr != nil {
		partial.Add(w, "backup:ListBackupSelections", p.selectionsErr)
	}
	for _, s := range p.selections {
		if s.err != nil {
			partial.Add(w, "backup:GetBackupSelection", s.err)
		}
	}
}

// markUnread turns what the run never reached into errors.
func (p *planState) markUnread(ctx context.Context, partial *collector.PartialError, acct string) {
	w := where(acct, p.region, p.arn)
	if p.plan == nil && p.planErr == nil {
		p.planErr = notRead(ctx)
		partial.Add(w, "backup:GetBackupPlan", p.planErr)
	}
	if p.selections == nil && p.selectionsErr == nil && p.plan == nil {
		p.selectionsErr = notRead(ctx)
		partial.Add(w, "backup:ListBackupSelections", p.selectionsErr)
	}
	for _, s := range p.selections {
		if s.sel == nil && s.err == nil {
			s.err = notRead(ctx)
			partial.Add(w, "backup:GetBackupSelection", s.err)
		}
	}
}

// planRecord inventories a plan: its rules (schedule, target vault,
// lifecycle) and its selections as AWS Backup holds them.
func planRecord(p *planState) evidence.Record {
	attrs := map[string]any{"name": p.name, "plan_id": p.id}
	if p.plan != nil && p.plan.BackupPlan != nil {
		attrs["version_id"] = aws.ToString(p.plan.VersionId)
		attrs["created"] = ts(aws.ToTime(p.plan.CreationDate))
		rules := []map[string]any{}
		for _, r := range p.plan.BackupPlan.Rules {
			rule := map[string]any{"name": aws.ToString(r.RuleName), "schedule": aws.ToString(r.ScheduleExpression),
				"target_vault": aws.ToString(r.TargetBackupVaultName), "continuous_backup": aws.ToBool(r.EnableContinuousBackup)}
			if l := r.Lifecycle; l != nil {
				if l.DeleteAfterDays != nil {
					rule["delete_after_days"] = aws.ToInt64(l.DeleteAfterDays)
				}
				if l.MoveToColdStorageAfterDays != nil {
					rule["cold_storage_after_days"] = aws.ToInt64(l.MoveToColdStorageAfterDays)
				}
			}
			rule["copy_actions"] = len(r.CopyActions)
			rules = append(rules, rule)
		}
		attrs["rules"] = rules
	} else {
		attrs["rules_unread"] = true
	}
	sels := []map[string]any{}
	for _, s := range p.selections {
		m := map[string]any{"selection_id": s.id, "name": s.name}
		if s.sel != nil {
			m["resources"] = nonNil(s.sel.Resources)
			m["not_resources"] = nonNil(s.sel.NotResources)
			tags := []map[string]any{}
			for _, t := range s.sel.ListOfTags {
				tags = append(tags, map[string]any{"type": string(t.ConditionType), "key": aws.ToString(t.ConditionKey), "value": aws.ToString(t.ConditionValue)})
			}
			m["list_of_tags"] = tags
			conds := []map[string]any{}
			for _, c := range selectionConditions(s.sel) {
				conds = append(conds, map[string]any{"operator": c.op, "key": c.key, "value": c.value})
			}
			m["conditions"] = conds
		} else {
			m["unread"] = true
		}
		sels = append(sels, m)
	}
	attrs["selections"] = sels
	if p.selectionsErr != nil {
		attrs["selections_unread"] = true
	}
	return evidence.Record{Type: "aws.backup.plan", ID: p.arn, Region: p.region, Attributes: attrs}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// condition is one Conditions entry, with its operator.
type condition struct{ op, key, value string }

func selectionConditions(s *bktypes.BackupSelection) []condition {
	var out []condition
	if s.Conditions == nil {
		return nil
	}
	for _, g := range []struct {
		op   string
		list []bktypes.ConditionParameter
	}{
		{"StringEquals", s.Conditions.StringEquals}, {"StringNotEquals", s.Conditions.StringNotEquals},
		{"StringLike", s.Conditions.StringLike}, {"StringNotLike", s.Conditions.StringNotLike},
	} {
		for _, c := range g.list {
			out = append(out, condition{op: g.op, key: aws.ToString(c.ConditionKey), value: aws.ToString(c.ConditionValue)})
		}
	}
	return out
}

// errUnevaluable is a selection whose meaning for a resource is not
// certain: it is reported as an error, never guessed.
var errUnevaluable = errors.New("selection cannot be evaluated")

// selects says whether a selection assigns the resource (arn, with its
// tags) to its plan, as AWS Backup documents it: Resources (any of the
// ARNs, * a wildcard; none means every resource), and all Conditions
// (StringEquals, StringNotEquals, StringLike, StringNotLike on
// aws:ResourceTag/<key>), and any of ListOfTags (STRINGEQUALS on a tag
// key), minus NotResources. ListOfTags beside specific Resources or
// Conditions is not evaluated: how AWS combines the legacy tag list with
// them is not documented precisely enough to judge on.
func selects(s *bktypes.BackupSelection, arn string, tags map[string]string) (bool, error) {
	for _, nr := range s.NotResources {
		if wildcardMatch(nr, arn) {
			return false, nil
		}
	}
	conds := selectionConditions(s)
	if len(s.ListOfTags) > 0 && (len(conds) > 0 || !(len(s.Resources) == 0 || (len(s.Resources) == 1 && s.Resources[0] == "*"))) {
		return false, fmt.Errorf("%w: ListOfTags combined with Resources or Conditions", errUnevaluable)
	}
	if len(s.Resources) > 0 {
		in := false
		for _, r := range s.Resources {
			if wildcardMatch(r, arn) {
				in = true
			}
		}
		if !in {
			return false, nil
		}
	}
	for _, c := range conds {
		key, ok := strings.CutPrefix(c.key, "aws:ResourceTag/")
		if !ok {
			return false, fmt.Errorf("%w: condition key %q is not aws:ResourceTag/<key>", errUnevaluable, c.key)
		}
		v, has := tags[key]
		var holds bool
		switch c.op {
		case "StringEquals":
			holds = has && v == c.value
		case "StringNotEquals":
			holds = !has || v != c.value
		case "StringLike":
			holds = has && wildcardMatch(c.value, v)
		case "StringNotLike":
			holds = !has || !wildcardMatch(c.value, v)
		}
		if !holds {
			return false, nil
		}
	}
	if len(s.ListOfTags) > 0 {
		for _, t := range s.ListOfTags {
			if t.ConditionType != bktypes.ConditionTypeStringequals {
				return false, fmt.Errorf("%w: ListOfTags condition type %q", errUnevaluable, t.ConditionType)
			}
			key := strings.TrimPrefix(aws.ToString(t.ConditionKey), "aws:ResourceTag/")
			if v, has := tags[key]; has && v == aws.ToString(t.ConditionValue) {
				return true, nil
			}
		}
		return false, nil
	}
	return true, nil
}

// wildcardMatch matches s against a pattern where * is any run of
// characters and ? any one character, as ARNs in selections and
// StringLike conditions use them.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
