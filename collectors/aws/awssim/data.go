package awssim

import (
	"fmt"
	"sort"
)

// DynamoDB answers JSON 1.0 and KMS JSON 1.1, with the field names of the
// services' API references (and the SDK's deserializers).

func (t Table) arn(acct string) string {
	return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", t.Region, acct, t.Name)
}

func (s *Sim) findTable(c *call) *Table {
	name := c.str("TableName")
	for i := range c.acct.Tables {
		t := &c.acct.Tables[i]
		if t.Region == c.region && (t.Name == name || t.arn(c.acct.ID) == name) {
			return t
		}
	}
	return nil
}

func (s *Sim) dynamodb(c *call) int {
	switch c.op {
	case "ListTables":
		var names []string
		for _, t := range c.acct.Tables {
			if t.Region == c.region {
				names = append(names, t.Name)
			}
		}
		sort.Strings(names)
		start := sort.SearchStrings(names, c.str("ExclusiveStartTableName"))
		if start < len(names) && names[start] == c.str("ExclusiveStartTableName") {
			start++
		}
		end := min(start+s.pageSize(int(numberField(c.json, "Limit"))), len(names))
		out := map[string]any{"TableNames": append([]string{}, names[start:end]...)}
		if end < len(names) {
			out["LastEvaluatedTableName"] = names[end-1]
		}
		return c.jsonOK(out)
	case "DescribeTable":
		t := s.findTable(c)
		if t == nil {
			return c.fail(400, "ResourceNotFoundException", "Requested resource not found: Table: "+c.str("TableName")+" not found")
		}
		tab := map[string]any{
			"TableName": t.Name, "TableArn": t.arn(c.acct.ID), "TableId": fmt.Sprintf("%08x-0000-4000-8000-000000000000", len(t.Name)),
			"TableStatus": "ACTIVE", "CreationDateTime": float64(t.Created.Unix()), "ItemCount": 0, "TableSizeBytes": 0,
			"KeySchema":                 []map[string]any{{"AttributeName": "pk", "KeyType": "HASH"}},
			"AttributeDefinitions":      []map[string]any{{"AttributeName": "pk", "AttributeType": "S"}},
			"BillingModeSummary":        map[string]any{"BillingMode": "PAY_PER_REQUEST"},
			"DeletionProtectionEnabled": false,
		}
		if t.SSE == "KMS" {
			st := t.SSEStatus
			if st == "" {
				st = "ENABLED"
			}
			tab["SSEDescription"] = map[string]any{"Status": st, "SSEType": "KMS", "KMSMasterKeyArn": t.KMSKey}
		}
		return c.jsonOK(map[string]any{"Table": tab})
	case "DescribeContinuousBackups":
		t := s.findTable(c)
		if t == nil {
			return c.fail(400, "TableNotFoundException", "Table not found: "+c.str("TableName"))
		}
		pitr := map[string]any{"PointInTimeRecoveryStatus": "DISABLED"}
		if t.PITR {
			pitr = map[string]any{
				"PointInTimeRecoveryStatus":  "ENABLED",
				"EarliestRestorableDateTime": float64(s.Now.AddDate(0, 0, -35).Unix()),
				"LatestRestorableDateTime":   float64(s.Now.Add(-5 * 60e9).Unix()),
				"RecoveryPeriodInDays":       35,
			}
		}
		return c.jsonOK(map[string]any{"ContinuousBackupsDescription": map[string]any{
			"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": pitr,
		}})
	case "ListTagsOfResource":
		var t *Table
		for i := range c.acct.Tables {
			if x := &c.acct.Tables[i]; x.Region == c.region && x.arn(c.acct.ID) == c.str("ResourceArn") {
				t = x
			}
		}
		if t == nil {
			return c.fail(400, "ResourceNotFoundException", "Requested resource not found: ResourcArn: "+c.str("ResourceArn")+" not found")
		}
		tags := tagList(t.Tags, "Key", "Value")
		start, end, next := page(len(tags), s.pageSize(0), c.str("NextToken"))
		out := map[string]any{"Tags": append([]map[string]any{}, tags[start:end]...)}
		if next != "" {
			out["NextToken"] = next
		}
		return c.jsonOK(out)
	}
	return c.fail(400, "UnknownOperationException", "DynamoDB operation "+c.op+" is not simulated")
}

func (k KMSKey) arn(acct string) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", k.Region, acct, k.ID)
}

func (s *Sim) findKey(c *call) *KMSKey {
	id := c.str("KeyId")
	for i := range c.acct.Keys {
		k := &c.acct.Keys[i]
		if k.Region == c.region && (k.ID == id || k.arn(c.acct.ID) == id) {
			return k
		}
	}
	return nil
}

func (s *Sim) kms(c *call) int {
	switch c.op {
	case "ListKeys":
		var keys []map[string]any
		for _, k := range c.acct.Keys {
			if k.Region == c.region {
				keys = append(keys, map[string]any{"KeyId": k.ID, "KeyArn": k.arn(c.acct.ID)})
			}
		}
		start, end, next := page(len(keys), s.pageSize(int(numberField(c.json, "Limit"))), c.str("Marker"))
		out := map[string]any{"Keys": append([]map[string]any{}, keys[start:end]...), "Truncated": next != ""}
		if next != "" {
			out["NextMarker"] = next
		}
		return c.jsonOK(out)
	case "DescribeKey":
		k := s.findKey(c)
		if k == nil {
			return c.fail(400, "NotFoundException", "Key '"+c.str("KeyId")+"' does not exist")
		}
		md := map[string]any{
			"AWSAccountId": c.acct.ID, "KeyId": k.ID, "Arn": k.arn(c.acct.ID), "CreationDate": float64(k.Created.Unix()),
			"Enabled": k.State == "Enabled", "Description": k.Description, "KeyUsage": k.Usage, "KeyState": k.State,
			"Origin": k.Origin, "KeyManager": k.Manager, "CustomerMasterKeySpec": k.Spec, "KeySpec": k.Spec, "MultiRegion": false,
		}
		switch k.Usage {
		case "ENCRYPT_DECRYPT":
			if k.Spec == "SYMMETRIC_DEFAULT" {
				md["EncryptionAlgorithms"] = []string{"SYMMETRIC_DEFAULT"}
			} else {
				md["EncryptionAlgorithms"] = []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}
			}
		case "SIGN_VERIFY":
			md["SigningAlgorithms"] = []string{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PSS_SHA_256"}
		case "GENERATE_VERIFY_MAC":
			md["MacAlgorithms"] = []string{"HMAC_SHA_256"}
		}
		if k.State == "PendingDeletion" {
			md["DeletionDate"] = float64(s.Now.AddDate(0, 0, k.DeletionDays).Unix())
			md["PendingDeletionWindowInDays"] = k.DeletionDays
		}
		return c.jsonOK(map[string]any{"KeyMetadata": md})
	case "GetKeyRotationStatus":
		k := s.findKey(c)
		if k == nil {
			return c.fail(400, "NotFoundException", "Key '"+c.str("KeyId")+"' does not exist")
		}
		switch {
		case k.State != "Enabled" && k.State != "Disabled":
			return c.fail(400, "KMSInvalidStateException", fmt.Sprintf("%s is pending deletion.", k.arn(c.acct.ID)))
		case k.Spec != "SYMMETRIC_DEFAULT" || k.Origin != "AWS_KMS":
			return c.fail(400, "UnsupportedOperationException", k.arn(c.acct.ID)+" origin or key spec does not support automatic key rotation.")
		}
		out := map[string]any{"KeyId": k.arn(c.acct.ID), "KeyRotationEnabled": k.Rotation}
		if k.Rotation {
			out["RotationPeriodInDays"] = 365
			out["NextRotationDate"] = float64(s.Now.AddDate(0, 0, 100).Unix())
		}
		return c.jsonOK(out)
	case "ListResourceTags":
		k := s.findKey(c)
		if k == nil {
			return c.fail(400, "NotFoundException", "Key '"+c.str("KeyId")+"' does not exist")
		}
		tags := tagList(k.Tags, "TagKey", "TagValue")
		start, end, next := page(len(tags), s.pageSize(int(numberField(c.json, "Limit"))), c.str("Marker"))
		out := map[string]any{"Tags": append([]map[string]any{}, tags[start:end]...), "Truncated": next != ""}
		if next != "" {
			out["NextMarker"] = next
		}
		return c.jsonOK(out)
	}
	return c.fail(400, "UnsupportedOperationException", "KMS operation "+c.op+" is not simulated")
}

// tagList is tags as the service lists them, sorted by key, under its own
// field names (DynamoDB Key/Value, KMS TagKey/TagValue).
func tagList(tags map[string]string, key, value string) []map[string]any {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []map[string]any{}
	for _, k := range keys {
		out = append(out, map[string]any{key: k, value: tags[k]})
	}
	return out
}
