package awscollector

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// encryptionType names a table's server-side encryption as the DynamoDB
// console does: AWS owned, AWS managed or customer managed key.
func encryptionType(t *tableState) string {
	if tableKey(t.table) == "" {
		return "aws_owned"
	}
	if t.keyManager == kmstypes.KeyManagerTypeAws {
		return "aws_managed"
	}
	return "customer_managed"
}

func tableRecord(t *tableState) evidence.Record {
	attrs := map[string]any{"name": t.name}
	if t.table != nil {
		attrs["status"] = string(t.table.TableStatus)
		attrs["created"] = ts(aws.ToTime(t.table.CreationDateTime))
		attrs["deletion_protection"] = aws.ToBool(t.table.DeletionProtectionEnabled)
		if t.keyErr == nil {
			attrs["encryption"] = encryptionType(t)
		}
		if key := tableKey(t.table); key != "" {
			attrs["kms_key_arn"] = key
		}
	}
	if t.backups != nil {
		if p := t.backups.PointInTimeRecoveryDescription; p != nil {
			attrs["point_in_time_recovery"] = string(p.PointInTimeRecoveryStatus)
			if p.RecoveryPeriodInDays != nil {
				attrs["recovery_period_days"] = aws.ToInt32(p.RecoveryPeriodInDays)
			}
		}
	}
	if t.table != nil && t.tagsErr == nil {
		attrs["phi"] = t.phi
	}
	return evidence.Record{Type: "aws.dynamodb.table", ID: t.arn, Region: t.region, Attributes: attrs}
}

// tableEncryption records which key encrypts the table. DynamoDB encrypts
// every table at rest and cannot be turned off, so a table that was read
// passes; the type is what an auditor weighs.
func tableEncryption(t *tableState) evidence.Finding {
	if t.tableErr != nil {
		return finding(checkDynamoEncryption, t.arn, evidence.Error, "The table's description could not be read, so neither was its encryption.", map[string]any{"error": t.tableErr.Error()})
	}
	if t.keyErr != nil {
		return finding(checkDynamoEncryption, t.arn, evidence.Error, "The table's KMS key could not be described, so whether it is AWS or customer managed is unknown.",
			map[string]any{"error": t.keyErr.Error(), "kms_key_arn": tableKey(t.table)})
	}
	typ := encryptionType(t)
	obs := map[string]any{"encryption": typ}
	if key := tableKey(t.table); key != "" {
		obs["kms_key_arn"] = key
		obs["sse_status"] = string(t.table.SSEDescription.Status)
	}
	names := map[string]string{"aws_owned": "an AWS owned key", "aws_managed": "the AWS managed key", "customer_managed": "a customer managed key"}
	return finding(checkDynamoEncryption, t.arn, evidence.Pass, fmt.Sprintf("Table %s is encrypted at rest with %s.", t.name, names[typ]), obs)
}

func tablePITR(t *tableState) evidence.Finding {
	if t.backupsErr != nil {
		return finding(checkDynamoPITR, t.arn, evidence.Error, "The table's continuous backups could not be read.", map[string]any{"error": t.backupsErr.Error()})
	}
	p := t.backups.PointInTimeRecoveryDescription
	if p != nil && p.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled {
		obs := map[string]any{"point_in_time_recovery": "ENABLED", "recovery_period_days": aws.ToInt32(p.RecoveryPeriodInDays)}
		if p.EarliestRestorableDateTime != nil {
			obs["earliest_restorable"] = ts(aws.ToTime(p.EarliestRestorableDateTime))
		}
		return finding(checkDynamoPITR, t.arn, evidence.Pass, fmt.Sprintf("Table %s has point-in-time recovery enabled.", t.name), obs)
	}
	status := "DISABLED"
	if p != nil && p.PointInTimeRecoveryStatus != "" {
		status = string(p.PointInTimeRecoveryStatus)
	}
	return finding(checkDynamoPITR, t.arn, evidence.Fail, fmt.Sprintf("Table %s does not have point-in-time recovery enabled.", t.name), map[string]any{"point_in_time_recovery": status})
}
