package awscollector

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// keyRecord inventories a key: who manages it, what it is, its state and
// when a pending deletion happens.
func keyRecord(k *keyState) evidence.Record {
	attrs := map[string]any{}
	if k.meta == nil {
		attrs["unread"] = true
		return evidence.Record{Type: "aws.kms.key", ID: k.arn, Region: k.region, Attributes: attrs}
	}
	m := k.meta
	attrs["key_id"] = aws.ToString(m.KeyId)
	attrs["key_manager"] = string(m.KeyManager)
	attrs["key_spec"] = string(m.KeySpec)
	attrs["key_usage"] = string(m.KeyUsage)
	attrs["origin"] = string(m.Origin)
	attrs["key_state"] = string(m.KeyState)
	attrs["enabled"] = m.Enabled
	attrs["multi_region"] = aws.ToBool(m.MultiRegion)
	attrs["created"] = ts(aws.ToTime(m.CreationDate))
	attrs["description"] = aws.ToString(m.Description)
	if m.DeletionDate != nil {
		attrs["deletion_date"] = ts(aws.ToTime(m.DeletionDate))
	}
	if k.rotation != nil {
		attrs["rotation_enabled"] = k.rotation.KeyRotationEnabled
		if k.rotation.RotationPeriodInDays != nil {
			attrs["rotation_period_days"] = aws.ToInt32(k.rotation.RotationPeriodInDays)
		}
	}
	return evidence.Record{Type: "aws.kms.key", ID: k.arn, Region: k.region, Attributes: attrs}
}

func keyRotation(k *keyState) evidence.Finding {
	if k.metaErr != nil {
		return finding(checkKMSRotation, k.arn, evidence.Error, "The key's metadata could not be read, so whether it must rotate is unknown.", map[string]any{"error": k.metaErr.Error()})
	}
	m := k.meta
	obs := map[string]any{"key_manager": string(m.KeyManager), "key_spec": string(m.KeySpec), "origin": string(m.Origin), "key_state": string(m.KeyState)}
	if ok, why := rotatable(m); !ok {
		if m.KeyState == kmstypes.KeyStatePendingDeletion && m.DeletionDate != nil {
			obs["deletion_date"] = ts(aws.ToTime(m.DeletionDate))
		}
		return finding(checkKMSRotation, k.arn, evidence.NotApplicable, "Automatic rotation is not judged: "+why+".", obs)
	}
	if k.rotationErr != nil {
		obs["error"] = k.rotationErr.Error()
		return finding(checkKMSRotation, k.arn, evidence.Error, "The key's rotation status could not be read.", obs)
	}
	obs["rotation_enabled"] = k.rotation.KeyRotationEnabled
	if k.rotation.KeyRotationEnabled {
		obs["rotation_period_days"] = aws.ToInt32(k.rotation.RotationPeriodInDays)
		return finding(checkKMSRotation, k.arn, evidence.Pass, fmt.Sprintf("Customer managed key %s rotates automatically every %d days.", aws.ToString(m.KeyId), aws.ToInt32(k.rotation.RotationPeriodInDays)), obs)
	}
	return finding(checkKMSRotation, k.arn, evidence.Fail, fmt.Sprintf("Customer managed key %s does not rotate automatically.", aws.ToString(m.KeyId)), obs)
}
