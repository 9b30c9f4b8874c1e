package awssim

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
)

// EC2's query answers differ from IAM's: the elements sit directly under
// <OpResponse> (no <OpResult>), names are lowerCamel, lists are <…Set> of
// <item>, and the request id is <requestId>; paginated lists take
// MaxResults and NextToken and answer <nextToken> while more remain.

const ec2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

type ec2Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func ec2Tags(tags map[string]string) []ec2Tag {
	var out []ec2Tag
	for _, t := range tagList(tags, "k", "v") {
		out = append(out, ec2Tag{Key: t["k"].(string), Value: t["v"].(string)})
	}
	return out
}

// ec2XML writes an EC2 answer whose children are body's fields.
func (c *call) ec2XML(body any) int {
	inner, err := xml.Marshal(body)
	if err != nil {
		return c.fail(500, "InternalError", err.Error())
	}
	c.w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	fmt.Fprintf(c.w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<%sResponse xmlns="%s"><requestId>%s</requestId>%s</%sResponse>`,
		c.op, ec2NS, requestID(), stripRoot(inner), c.op)
	return 200
}

// list returns the values of a query list parameter: Name.1, Name.2, ….
func (c *call) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := c.form[name+"."+strconv.Itoa(i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}

func (c *call) maxResults() int {
	n, _ := strconv.Atoi(c.form.Get("MaxResults"))
	return n
}

func (a *Account) ebsSettings(region string) EBSSettings {
	for _, e := range a.EBS {
		if e.Region == region {
			return e
		}
	}
	return EBSSettings{Region: region}
}

func (s *Sim) ebs(c *call) int {
	a := c.acct
	switch c.op {
	case "GetEbsEncryptionByDefault":
		return c.ec2XML(struct {
			XMLName xml.Name `xml:"R"`
			On      bool     `xml:"ebsEncryptionByDefault"`
		}{On: a.ebsSettings(c.region).EncryptionByDefault})
	case "GetEbsDefaultKmsKeyId":
		key := a.ebsSettings(c.region).DefaultKMSKey
		if key == "" {
			key = fmt.Sprintf("arn:aws:kms:%s:%s:alias/aws/ebs", c.region, a.ID)
		}
		return c.ec2XML(struct {
			XMLName xml.Name `xml:"R"`
			Key     string   `xml:"kmsKeyId"`
		}{Key: key})
	case "DescribeVolumes":
		return s.describeVolumes(c)
	case "DescribeSnapshots":
		return s.describeSnapshots(c)
	case "DescribeSnapshotAttribute":
		return s.snapshotAttribute(c)
	}
	return c.fail(400, "InvalidAction", "The action "+c.op+" is not valid for this web service.")
}

func (s *Sim) describeVolumes(c *call) int {
	type attachment struct {
		VolumeID            string `xml:"volumeId"`
		InstanceID          string `xml:"instanceId"`
		Device              string `xml:"device"`
		Status              string `xml:"status"`
		AttachTime          string `xml:"attachTime"`
		DeleteOnTermination bool   `xml:"deleteOnTermination"`
	}
	type volume struct {
		VolumeID    string       `xml:"volumeId"`
		Size        int          `xml:"size"`
		SnapshotID  string       `xml:"snapshotId"`
		AZ          string       `xml:"availabilityZone"`
		Status      string       `xml:"status"`
		CreateTime  string       `xml:"createTime"`
		Attachments []attachment `xml:"attachmentSet>item"`
		VolumeType  string       `xml:"volumeType"`
		Encrypted   bool         `xml:"encrypted"`
		KMSKeyID    string       `xml:"kmsKeyId,omitempty"`
		Tags        []ec2Tag     `xml:"tagSet>item"`
		MultiAttach bool         `xml:"multiAttachEnabled"`
	}
	var vols []volume
	for _, v := range c.acct.Volumes {
		if v.Region != c.region {
			continue
		}
		out := volume{VolumeID: v.ID, Size: v.SizeGiB, AZ: v.AZ, Status: "available", CreateTime: iso(v.Created),
			VolumeType: v.Type, Encrypted: v.Encrypted, Tags: ec2Tags(v.Tags)}
		if v.Encrypted {
			out.KMSKeyID = v.KMSKey
		}
		for i, inst := range v.Instances {
			out.Status = "in-use"
			out.Attachments = append(out.Attachments, attachment{VolumeID: v.ID, InstanceID: inst, Device: fmt.Sprintf("/dev/xvd%c", 'f'+i),
				Status: "attached", AttachTime: iso(v.Created), DeleteOnTermination: false})
		}
		vols = append(vols, out)
	}
	start, end, next := page(len(vols), s.pageSize(c.maxResults()), c.form.Get("NextToken"))
	return c.ec2XML(struct {
		XMLName xml.Name `xml:"R"`
		Volumes []volume `xml:"volumeSet>item"`
		Next    string   `xml:"nextToken,omitempty"`
	}{Volumes: vols[start:end], Next: next})
}

// restorableBy says whether account id may create volumes from snap,
// which id "all" asks of everyone.
func restorableBy(a *Account, snap Snapshot, id string) bool {
	switch id {
	case "all":
		return snap.Public
	case "self":
		id = a.ID
	}
	return snap.Public || id == a.ID || slices.Contains(snap.SharedWith, id)
}

func (s *Sim) describeSnapshots(c *call) int {
	type snapshot struct {
		SnapshotID  string   `xml:"snapshotId"`
		VolumeID    string   `xml:"volumeId"`
		Status      string   `xml:"status"`
		StartTime   string   `xml:"startTime"`
		Progress    string   `xml:"progress"`
		OwnerID     string   `xml:"ownerId"`
		VolumeSize  int      `xml:"volumeSize"`
		Description string   `xml:"description"`
		Encrypted   bool     `xml:"encrypted"`
		KMSKeyID    string   `xml:"kmsKeyId,omitempty"`
		StorageTier string   `xml:"storageTier"`
		Tags        []ec2Tag `xml:"tagSet>item"`
	}
	a := c.acct
	// The sim holds only the account's own snapshots: owners other than
	// the account itself own none of them.
	owned := true
	if owners := c.list("Owner"); len(owners) > 0 {
		owned = slices.Contains(owners, "self") || slices.Contains(owners, a.ID)
	}
	restorable := c.list("RestorableBy")
	var snaps []snapshot
	for _, sn := range a.Snapshots {
		if sn.Region != c.region || !owned {
			continue
		}
		if len(restorable) > 0 && !slices.ContainsFunc(restorable, func(id string) bool { return restorableBy(a, sn, id) }) {
			continue
		}
		out := snapshot{SnapshotID: sn.ID, VolumeID: sn.VolumeID, Status: "completed", StartTime: iso(sn.Started), Progress: "100%",
			OwnerID: a.ID, VolumeSize: sn.SizeGiB, Description: sn.Description, Encrypted: sn.Encrypted, StorageTier: "standard", Tags: ec2Tags(sn.Tags)}
		if sn.Encrypted {
			out.KMSKeyID = sn.KMSKey
		}
		snaps = append(snaps, out)
	}
	start, end, next := page(len(snaps), s.pageSize(c.maxResults()), c.form.Get("NextToken"))
	return c.ec2XML(struct {
		XMLName   xml.Name   `xml:"R"`
		Snapshots []snapshot `xml:"snapshotSet>item"`
		Next      string     `xml:"nextToken,omitempty"`
	}{Snapshots: snaps[start:end], Next: next})
}

func (s *Sim) snapshotAttribute(c *call) int {
	id := c.form.Get("SnapshotId")
	var snap *Snapshot
	for i := range c.acct.Snapshots {
		if sn := &c.acct.Snapshots[i]; sn.Region == c.region && sn.ID == id {
			snap = sn
		}
	}
	if snap == nil {
		return c.fail(400, "InvalidSnapshot.NotFound", fmt.Sprintf("The snapshot '%s' does not exist.", id))
	}
	type permission struct {
		Group  string `xml:"group,omitempty"`
		UserID string `xml:"userId,omitempty"`
	}
	switch c.form.Get("Attribute") {
	case "createVolumePermission":
		var perms []permission
		if snap.Public {
			perms = append(perms, permission{Group: "all"})
		}
		for _, u := range snap.SharedWith {
			perms = append(perms, permission{UserID: u})
		}
		return c.ec2XML(struct {
			XMLName     xml.Name     `xml:"R"`
			SnapshotID  string       `xml:"snapshotId"`
			Permissions []permission `xml:"createVolumePermission>item"`
		}{SnapshotID: snap.ID, Permissions: perms})
	case "productCodes":
		return c.ec2XML(struct {
			XMLName    xml.Name `xml:"R"`
			SnapshotID string   `xml:"snapshotId"`
		}{SnapshotID: snap.ID})
	}
	return c.fail(400, "InvalidParameterValue", fmt.Sprintf("Value (%s) for parameter attribute is invalid. Unknown attribute.", c.form.Get("Attribute")))
}
