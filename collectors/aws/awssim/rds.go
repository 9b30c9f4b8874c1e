package awssim

import (
	"encoding/xml"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// RDS answers query-XML under its 2014-10-31 namespace, with the element
// names of the API reference and the SDK's schemas: lists are wrapped, and
// their members named after the member shape (<DBInstance>, <DBCluster>,
// <DBSnapshot>, <Tag>, <DBClusterMember>, <AttributeValue>).
const rdsNS = "http://rds.amazonaws.com/doc/2014-10-31/"

type rdsTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func rdsTags(m map[string]string) []rdsTag {
	var out []rdsTag
	for _, t := range tagList(m, "Key", "Value") {
		out = append(out, rdsTag{Key: t["Key"].(string), Value: t["Value"].(string)})
	}
	return out
}

type rdsEndpoint struct {
	Address      string `xml:"Address"`
	Port         int    `xml:"Port"`
	HostedZoneID string `xml:"HostedZoneId"`
}

type dbInstanceXML struct {
	XMLName               xml.Name    `xml:"DBInstance"`
	DBInstanceIdentifier  string      `xml:"DBInstanceIdentifier"`
	DBInstanceClass       string      `xml:"DBInstanceClass"`
	Engine                string      `xml:"Engine"`
	DBInstanceStatus      string      `xml:"DBInstanceStatus"`
	MasterUsername        string      `xml:"MasterUsername"`
	Endpoint              rdsEndpoint `xml:"Endpoint"`
	AllocatedStorage      int         `xml:"AllocatedStorage"`
	InstanceCreateTime    string      `xml:"InstanceCreateTime"`
	PreferredBackupWindow string      `xml:"PreferredBackupWindow"`
	BackupRetentionPeriod int         `xml:"BackupRetentionPeriod"`
	AvailabilityZone      string      `xml:"AvailabilityZone"`
	MultiAZ               bool        `xml:"MultiAZ"`
	EngineVersion         string      `xml:"EngineVersion"`
	ReplicaSource         string      `xml:"ReadReplicaSourceDBInstanceIdentifier,omitempty"`
	PubliclyAccessible    bool        `xml:"PubliclyAccessible"`
	StorageType           string      `xml:"StorageType"`
	DbInstancePort        int         `xml:"DbInstancePort"`
	DBClusterIdentifier   string      `xml:"DBClusterIdentifier,omitempty"`
	StorageEncrypted      bool        `xml:"StorageEncrypted"`
	KmsKeyID              string      `xml:"KmsKeyId,omitempty"`
	DbiResourceID         string      `xml:"DbiResourceId"`
	CopyTagsToSnapshot    bool        `xml:"CopyTagsToSnapshot"`
	DBInstanceArn         string      `xml:"DBInstanceArn"`
	DeletionProtection    bool        `xml:"DeletionProtection"`
	TagList               []rdsTag    `xml:"TagList>Tag"`
}

type dbClusterMemberXML struct {
	DBInstanceIdentifier          string `xml:"DBInstanceIdentifier"`
	IsClusterWriter               bool   `xml:"IsClusterWriter"`
	DBClusterParameterGroupStatus string `xml:"DBClusterParameterGroupStatus"`
	PromotionTier                 int    `xml:"PromotionTier"`
}

type dbClusterXML struct {
	XMLName                xml.Name             `xml:"DBCluster"`
	AllocatedStorage       int                  `xml:"AllocatedStorage"`
	AvailabilityZones      []string             `xml:"AvailabilityZones>AvailabilityZone"`
	BackupRetentionPeriod  int                  `xml:"BackupRetentionPeriod"`
	DBClusterIdentifier    string               `xml:"DBClusterIdentifier"`
	Status                 string               `xml:"Status"`
	EarliestRestorableTime string               `xml:"EarliestRestorableTime"`
	Endpoint               string               `xml:"Endpoint"`
	ReaderEndpoint         string               `xml:"ReaderEndpoint"`
	MultiAZ                bool                 `xml:"MultiAZ"`
	Engine                 string               `xml:"Engine"`
	EngineVersion          string               `xml:"EngineVersion"`
	LatestRestorableTime   string               `xml:"LatestRestorableTime"`
	Port                   int                  `xml:"Port"`
	MasterUsername         string               `xml:"MasterUsername"`
	PreferredBackupWindow  string               `xml:"PreferredBackupWindow"`
	Members                []dbClusterMemberXML `xml:"DBClusterMembers>DBClusterMember"`
	StorageEncrypted       bool                 `xml:"StorageEncrypted"`
	KmsKeyID               string               `xml:"KmsKeyId,omitempty"`
	DbClusterResourceID    string               `xml:"DbClusterResourceId"`
	DBClusterArn           string               `xml:"DBClusterArn"`
	ClusterCreateTime      string               `xml:"ClusterCreateTime"`
	EngineMode             string               `xml:"EngineMode"`
	DeletionProtection     bool                 `xml:"DeletionProtection"`
	TagList                []rdsTag             `xml:"TagList>Tag"`
}

type dbSnapshotXML struct {
	XMLName              xml.Name `xml:"DBSnapshot"`
	DBSnapshotIdentifier string   `xml:"DBSnapshotIdentifier"`
	DBInstanceIdentifier string   `xml:"DBInstanceIdentifier"`
	SnapshotCreateTime   string   `xml:"SnapshotCreateTime"`
	Engine               string   `xml:"Engine"`
	AllocatedStorage     int      `xml:"AllocatedStorage"`
	Status               string   `xml:"Status"`
	Port                 int      `xml:"Port"`
	SnapshotType         string   `xml:"SnapshotType"`
	PercentProgress      int      `xml:"PercentProgress"`
	Encrypted            bool     `xml:"Encrypted"`
	KmsKeyID             string   `xml:"KmsKeyId,omitempty"`
	DBSnapshotArn        string   `xml:"DBSnapshotArn"`
	TagList              []rdsTag `xml:"TagList>Tag"`
}

type dbClusterSnapshotXML struct {
	XMLName                     xml.Name `xml:"DBClusterSnapshot"`
	DBClusterSnapshotIdentifier string   `xml:"DBClusterSnapshotIdentifier"`
	DBClusterIdentifier         string   `xml:"DBClusterIdentifier"`
	SnapshotCreateTime          string   `xml:"SnapshotCreateTime"`
	Engine                      string   `xml:"Engine"`
	AllocatedStorage            int      `xml:"AllocatedStorage"`
	Status                      string   `xml:"Status"`
	Port                        int      `xml:"Port"`
	SnapshotType                string   `xml:"SnapshotType"`
	PercentProgress             int      `xml:"PercentProgress"`
	StorageEncrypted            bool     `xml:"StorageEncrypted"`
	KmsKeyID                    string   `xml:"KmsKeyId,omitempty"`
	DBClusterSnapshotArn        string   `xml:"DBClusterSnapshotArn"`
	TagList                     []rdsTag `xml:"TagList>Tag"`
}

type snapshotAttributeXML struct {
	AttributeName   string   `xml:"AttributeName"`
	AttributeValues []string `xml:"AttributeValues>AttributeValue"`
}

func rdsARN(region, acct, kind, id string) string {
	return fmt.Sprintf("arn:aws:rds:%s:%s:%s:%s", region, acct, kind, id)
}

func rdsPort(engine string) int {
	switch engine {
	case "postgres", "aurora-postgresql":
		return 5432
	case "sqlserver-se", "sqlserver-ee", "sqlserver-ex", "sqlserver-web":
		return 1433
	case "oracle-ee", "oracle-se2":
		return 1521
	}
	return 3306
}

// snapshotID is the identifier RDS gives a snapshot: automated snapshots
// are named rds:<source>-<date>.
func (p DBSnapshot) snapshotID() string {
	if p.Automated {
		return fmt.Sprintf("rds:%s-%s", p.Source, p.Created.Format("2006-01-02-15-04"))
	}
	return p.ID
}

func (p DBSnapshot) arn(acct string) string {
	kind := "snapshot"
	if p.Cluster {
		kind = "cluster-snapshot"
	}
	return rdsARN(p.Region, acct, kind, p.snapshotID())
}

func (p DBSnapshot) snapshotType() string {
	if p.Automated {
		return "automated"
	}
	return "manual"
}

// rdsPage returns the slice a Marker selects, capped by MaxRecords.
func (s *Sim) rdsPage(c *call, total int) (start, end int, next string) {
	maxRecords, _ := strconv.Atoi(c.form.Get("MaxRecords"))
	return page(total, s.pageSize(maxRecords), c.form.Get("Marker"))
}

// rdsDescribe writes a Describe* answer: an optional Marker, then the
// wrapped list, each item already named by its XMLName.
func (c *call) rdsDescribe(list, marker string, items any) int {
	b, err := xml.Marshal(items)
	if err != nil {
		return c.fail(500, "InternalFailure", err.Error())
	}
	inner := "<" + list + ">" + string(b) + "</" + list + ">"
	if marker != "" {
		inner = "<Marker>" + xmlText(marker) + "</Marker>" + inner
	}
	return c.queryXML(rdsNS, struct {
		XMLName xml.Name `xml:"R"`
		Inner   string   `xml:",innerxml"`
	}{Inner: inner})
}

func (s *Sim) rds(c *call) int {
	a := c.acct
	iso := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	switch c.op {
	case "DescribeDBInstances":
		var got []DBInstance
		for _, d := range a.DBInstances {
			if d.Region == c.region && (c.form.Get("DBInstanceIdentifier") == "" || c.form.Get("DBInstanceIdentifier") == d.ID) {
				got = append(got, d)
			}
		}
		if id := c.form.Get("DBInstanceIdentifier"); id != "" && len(got) == 0 {
			return c.fail(404, "DBInstanceNotFound", "DBInstance "+id+" not found.")
		}
		sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
		start, end, next := s.rdsPage(c, len(got))
		items := []dbInstanceXML{}
		for _, d := range got[start:end] {
			items = append(items, dbInstanceXML{
				DBInstanceIdentifier: d.ID, DBInstanceClass: d.Class, Engine: d.Engine, DBInstanceStatus: "available",
				MasterUsername: "admin", AllocatedStorage: 100, InstanceCreateTime: iso(d.Created),
				Endpoint:              rdsEndpoint{Address: fmt.Sprintf("%s.c0sim.%s.rds.amazonaws.com", d.ID, d.Region), Port: rdsPort(d.Engine), HostedZoneID: "Z2R2ITUGPM61AM"},
				PreferredBackupWindow: "03:00-04:00", BackupRetentionPeriod: d.BackupDays, AvailabilityZone: d.Region + "a",
				MultiAZ: d.MultiAZ, EngineVersion: d.EngineVersion, ReplicaSource: d.ReplicaOf, PubliclyAccessible: d.Public,
				StorageType: "gp3", DbInstancePort: 0, DBClusterIdentifier: d.Cluster, StorageEncrypted: d.Encrypted,
				KmsKeyID: d.KMSKey, DbiResourceID: "db-SIM" + d.ID, CopyTagsToSnapshot: true,
				DBInstanceArn: rdsARN(d.Region, a.ID, "db", d.ID), DeletionProtection: d.DeletionProtection, TagList: rdsTags(d.Tags),
			})
		}
		return c.rdsDescribe("DBInstances", next, items)
	case "DescribeDBClusters":
		var got []DBCluster
		for _, d := range a.DBClusters {
			if d.Region == c.region && (c.form.Get("DBClusterIdentifier") == "" || c.form.Get("DBClusterIdentifier") == d.ID) {
				got = append(got, d)
			}
		}
		if id := c.form.Get("DBClusterIdentifier"); id != "" && len(got) == 0 {
			return c.fail(404, "DBClusterNotFoundFault", "DBCluster "+id+" not found.")
		}
		sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
		start, end, next := s.rdsPage(c, len(got))
		items := []dbClusterXML{}
		for _, d := range got[start:end] {
			var members []dbClusterMemberXML
			for _, m := range a.DBInstances {
				if m.Region == d.Region && m.Cluster == d.ID {
					tier := 1
					if m.Writer {
						tier = 0
					}
					members = append(members, dbClusterMemberXML{DBInstanceIdentifier: m.ID, IsClusterWriter: m.Writer, DBClusterParameterGroupStatus: "in-sync", PromotionTier: tier})
				}
			}
			mode := "provisioned"
			items = append(items, dbClusterXML{
				AllocatedStorage: 1, AvailabilityZones: []string{d.Region + "a", d.Region + "b", d.Region + "c"},
				BackupRetentionPeriod: d.BackupDays, DBClusterIdentifier: d.ID, Status: "available",
				EarliestRestorableTime: iso(s.Now.AddDate(0, 0, -d.BackupDays)),
				Endpoint:               fmt.Sprintf("%s.cluster-c0sim.%s.rds.amazonaws.com", d.ID, d.Region),
				ReaderEndpoint:         fmt.Sprintf("%s.cluster-ro-c0sim.%s.rds.amazonaws.com", d.ID, d.Region),
				MultiAZ:                d.MultiAZ, Engine: d.Engine, EngineVersion: d.EngineVersion,
				LatestRestorableTime: iso(s.Now.Add(-5 * time.Minute)), Port: rdsPort(d.Engine), MasterUsername: "admin",
				PreferredBackupWindow: "03:00-04:00", Members: members, StorageEncrypted: d.Encrypted, KmsKeyID: d.KMSKey,
				DbClusterResourceID: "cluster-SIM" + d.ID, DBClusterArn: rdsARN(d.Region, a.ID, "cluster", d.ID),
				ClusterCreateTime: iso(d.Created), EngineMode: mode, DeletionProtection: d.DeletionProtection, TagList: rdsTags(d.Tags),
			})
		}
		return c.rdsDescribe("DBClusters", next, items)
	case "DescribeDBSnapshots", "DescribeDBClusterSnapshots":
		cluster := c.op == "DescribeDBClusterSnapshots"
		var got []DBSnapshot
		for _, p := range a.DBSnapshots {
			if p.Region == c.region && p.Cluster == cluster && (c.form.Get("SnapshotType") == "" || c.form.Get("SnapshotType") == p.snapshotType()) {
				got = append(got, p)
			}
		}
		sort.Slice(got, func(i, j int) bool { return got[i].snapshotID() < got[j].snapshotID() })
		start, end, next := s.rdsPage(c, len(got))
		if cluster {
			items := []dbClusterSnapshotXML{}
			for _, p := range got[start:end] {
				items = append(items, dbClusterSnapshotXML{
					DBClusterSnapshotIdentifier: p.snapshotID(), DBClusterIdentifier: p.Source, SnapshotCreateTime: iso(p.Created),
					Engine: p.Engine, AllocatedStorage: 1, Status: "available", Port: rdsPort(p.Engine), SnapshotType: p.snapshotType(),
					PercentProgress: 100, StorageEncrypted: p.Encrypted, KmsKeyID: p.KMSKey, DBClusterSnapshotArn: p.arn(a.ID), TagList: rdsTags(p.Tags),
				})
			}
			return c.rdsDescribe("DBClusterSnapshots", next, items)
		}
		items := []dbSnapshotXML{}
		for _, p := range got[start:end] {
			items = append(items, dbSnapshotXML{
				DBSnapshotIdentifier: p.snapshotID(), DBInstanceIdentifier: p.Source, SnapshotCreateTime: iso(p.Created),
				Engine: p.Engine, AllocatedStorage: 100, Status: "available", Port: rdsPort(p.Engine), SnapshotType: p.snapshotType(),
				PercentProgress: 100, Encrypted: p.Encrypted, KmsKeyID: p.KMSKey, DBSnapshotArn: p.arn(a.ID), TagList: rdsTags(p.Tags),
			})
		}
		return c.rdsDescribe("DBSnapshots", next, items)
	case "DescribeDBSnapshotAttributes", "DescribeDBClusterSnapshotAttributes":
		cluster := c.op == "DescribeDBClusterSnapshotAttributes"
		param, code, noun := "DBSnapshotIdentifier", "DBSnapshotNotFound", "DBSnapshot"
		if cluster {
			param, code, noun = "DBClusterSnapshotIdentifier", "DBClusterSnapshotNotFoundFault", "DBClusterSnapshot"
		}
		id := c.form.Get(param)
		var snap *DBSnapshot
		for i := range a.DBSnapshots {
			p := &a.DBSnapshots[i]
			if p.Region == c.region && p.Cluster == cluster && (p.snapshotID() == id || p.arn(a.ID) == id) {
				snap = p
			}
		}
		if snap == nil {
			return c.fail(404, code, noun+" "+id+" not found.")
		}
		attrs := []snapshotAttributeXML{{AttributeName: "restore", AttributeValues: append([]string(nil), snap.Restore...)}}
		if cluster {
			return c.queryXML(rdsNS, struct {
				XMLName xml.Name `xml:"R"`
				R       struct {
					ID    string                 `xml:"DBClusterSnapshotIdentifier"`
					Attrs []snapshotAttributeXML `xml:"DBClusterSnapshotAttributes>DBClusterSnapshotAttribute"`
				} `xml:"DBClusterSnapshotAttributesResult"`
			}{R: struct {
				ID    string                 `xml:"DBClusterSnapshotIdentifier"`
				Attrs []snapshotAttributeXML `xml:"DBClusterSnapshotAttributes>DBClusterSnapshotAttribute"`
			}{ID: snap.snapshotID(), Attrs: attrs}})
		}
		return c.queryXML(rdsNS, struct {
			XMLName xml.Name `xml:"R"`
			R       struct {
				ID    string                 `xml:"DBSnapshotIdentifier"`
				Attrs []snapshotAttributeXML `xml:"DBSnapshotAttributes>DBSnapshotAttribute"`
			} `xml:"DBSnapshotAttributesResult"`
		}{R: struct {
			ID    string                 `xml:"DBSnapshotIdentifier"`
			Attrs []snapshotAttributeXML `xml:"DBSnapshotAttributes>DBSnapshotAttribute"`
		}{ID: snap.snapshotID(), Attrs: attrs}})
	}
	return c.fail(400, "InvalidAction", "RDS action "+c.op+" is not simulated")
}
