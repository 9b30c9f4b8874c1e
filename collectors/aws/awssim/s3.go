package awssim

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3Operation names a path-style S3 request by its sub-resource.
func s3Operation(r *http.Request) string {
	path := strings.Trim(r.URL.Path, "/")
	if path == "" {
		return "ListBuckets"
	}
	q := r.URL.Query()
	for _, sub := range []struct{ key, op string }{
		{"location", "GetBucketLocation"}, {"encryption", "GetBucketEncryption"}, {"policy", "GetBucketPolicy"},
		{"publicAccessBlock", "GetPublicAccessBlock"}, {"versioning", "GetBucketVersioning"},
		{"logging", "GetBucketLogging"}, {"object-lock", "GetObjectLockConfiguration"},
		{"lifecycle", "GetBucketLifecycleConfiguration"},
	} {
		if _, ok := q[sub.key]; ok {
			return sub.op
		}
	}
	return r.Method + " bucket"
}

func (s *Sim) bucket(c *call) *Bucket {
	name := strings.SplitN(strings.Trim(c.r.URL.Path, "/"), "/", 2)[0]
	for _, b := range c.acct.Buckets {
		if b.Name == name {
			return b
		}
	}
	return nil
}

type pabXML struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	NS                    string   `xml:"xmlns,attr"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

func pab(p *PublicAccessBlock, ns string) pabXML {
	return pabXML{NS: ns, BlockPublicAcls: p.BlockPublicAcls, IgnorePublicAcls: p.IgnorePublicAcls, BlockPublicPolicy: p.BlockPublicPolicy, RestrictPublicBuckets: p.RestrictPublicBuckets}
}

func (s *Sim) s3(c *call) int {
	if c.op == "ListBuckets" {
		return s.listBuckets(c)
	}
	b := s.bucket(c)
	if b == nil {
		return c.fail(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	// Like S3, answer a request sent to the wrong region with a redirect,
	// except GetBucketLocation, which works from anywhere.
	if c.op != "GetBucketLocation" && c.region != b.Region {
		c.w.Header().Set("X-Amz-Bucket-Region", b.Region)
		return c.fail(301, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint.")
	}
	switch c.op {
	case "GetBucketLocation":
		loc := b.Region
		if loc == "us-east-1" {
			loc = ""
		}
		return c.restXML(struct {
			XMLName xml.Name `xml:"LocationConstraint"`
			NS      string   `xml:"xmlns,attr"`
			V       string   `xml:",chardata"`
		}{NS: s3NS, V: loc})
	case "GetBucketEncryption":
		if b.Encryption == "" {
			return c.fail(404, "ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found")
		}
		type def struct {
			SSEAlgorithm   string `xml:"SSEAlgorithm"`
			KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
		}
		type rule struct {
			Default          def  `xml:"ApplyServerSideEncryptionByDefault"`
			BucketKeyEnabled bool `xml:"BucketKeyEnabled"`
		}
		return c.restXML(struct {
			XMLName xml.Name `xml:"ServerSideEncryptionConfiguration"`
			NS      string   `xml:"xmlns,attr"`
			Rule    rule     `xml:"Rule"`
		}{NS: s3NS, Rule: rule{def{b.Encryption, b.KMSKey}, b.BucketKey}})
	case "GetBucketPolicy":
		if b.Policy == "" {
			return c.fail(404, "NoSuchBucketPolicy", "The bucket policy does not exist")
		}
		c.w.Header().Set("Content-Type", "application/json")
		c.w.Header().Set("X-Amz-Request-Id", requestID())
		_, _ = c.w.Write([]byte(b.Policy))
		return 200
	case "GetPublicAccessBlock":
		if b.PublicAccessBlock == nil {
			return c.fail(404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
		}
		return c.restXML(pab(b.PublicAccessBlock, s3NS))
	case "GetBucketVersioning":
		return c.restXML(struct {
			XMLName xml.Name `xml:"VersioningConfiguration"`
			NS      string   `xml:"xmlns,attr"`
			Status  string   `xml:"Status,omitempty"`
		}{NS: s3NS, Status: b.Versioning})
	case "GetBucketLogging":
		type enabled struct {
			TargetBucket string `xml:"TargetBucket"`
			TargetPrefix string `xml:"TargetPrefix"`
		}
		v := struct {
			XMLName xml.Name `xml:"BucketLoggingStatus"`
			NS      string   `xml:"xmlns,attr"`
			Enabled *enabled `xml:"LoggingEnabled,omitempty"`
		}{NS: s3NS}
		if b.LoggingTarget != "" {
			v.Enabled = &enabled{b.LoggingTarget, b.Name + "/"}
		}
		return c.restXML(v)
	case "GetObjectLockConfiguration":
		if b.ObjectLockDays == 0 {
			return c.fail(404, "ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket")
		}
		type retention struct {
			Mode string `xml:"Mode"`
			Days int    `xml:"Days"`
		}
		type rule struct {
			Default retention `xml:"DefaultRetention"`
		}
		return c.restXML(struct {
			XMLName xml.Name `xml:"ObjectLockConfiguration"`
			NS      string   `xml:"xmlns,attr"`
			Enabled string   `xml:"ObjectLockEnabled"`
			Rule    rule     `xml:"Rule"`
		}{NS: s3NS, Enabled: "Enabled", Rule: rule{retention{"COMPLIANCE", b.ObjectLockDays}}})
	case "GetBucketLifecycleConfiguration":
		if len(b.Lifecycle) == 0 {
			return c.fail(404, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist")
		}
		type expiration struct {
			Days int `xml:"Days"`
		}
		type noncurrent struct {
			NoncurrentDays int `xml:"NoncurrentDays"`
		}
		type filter struct {
			Prefix string `xml:"Prefix"`
		}
		type rule struct {
			ID         string      `xml:"ID"`
			Filter     filter      `xml:"Filter"`
			Status     string      `xml:"Status"`
			Expiration *expiration `xml:"Expiration,omitempty"`
			Noncurrent *noncurrent `xml:"NoncurrentVersionExpiration,omitempty"`
		}
		var rules []rule
		for _, r := range b.Lifecycle {
			x := rule{ID: r.ID, Filter: filter{r.Prefix}, Status: "Disabled"}
			if r.Enabled {
				x.Status = "Enabled"
			}
			if r.ExpireDays > 0 {
				x.Expiration = &expiration{r.ExpireDays}
			}
			if r.NoncurrentDays > 0 {
				x.Noncurrent = &noncurrent{r.NoncurrentDays}
			}
			rules = append(rules, x)
		}
		return c.restXML(struct {
			XMLName xml.Name `xml:"LifecycleConfiguration"`
			NS      string   `xml:"xmlns,attr"`
			Rules   []rule   `xml:"Rule"`
		}{NS: s3NS, Rules: rules})
	}
	return c.fail(400, "NotImplemented", "S3 operation "+c.op+" is not simulated")
}

func (s *Sim) listBuckets(c *call) int {
	q := c.r.URL.Query()
	// Like S3: without any parameter the answer is every bucket, unpaged and
	// without BucketRegion; with one it is paged and names regions.
	withParams := false
	for _, k := range []string{"max-buckets", "continuation-token", "prefix", "bucket-region"} {
		withParams = withParams || q.Has(k)
	}
	maxBuckets, _ := strconv.Atoi(q.Get("max-buckets"))
	start, end, next := page(len(c.acct.Buckets), s.pageSize(maxBuckets), q.Get("continuation-token"))
	if !withParams {
		start, end, next = 0, len(c.acct.Buckets), ""
	}
	type bucket struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
		BucketRegion string `xml:"BucketRegion,omitempty"`
	}
	var bs []bucket
	for _, b := range c.acct.Buckets[start:end] {
		region := b.Region
		if !withParams || s.OmitBucketRegion {
			region = ""
		}
		bs = append(bs, bucket{b.Name, iso(b.Created), region})
	}
	type owner struct {
		ID string `xml:"ID"`
	}
	return c.restXML(struct {
		XMLName           xml.Name `xml:"ListAllMyBucketsResult"`
		NS                string   `xml:"xmlns,attr"`
		Owner             owner    `xml:"Owner"`
		Buckets           []bucket `xml:"Buckets>Bucket"`
		ContinuationToken string   `xml:"ContinuationToken,omitempty"`
	}{NS: s3NS, Owner: owner{fmt.Sprintf("owner-%s", c.acct.ID)}, Buckets: bs, ContinuationToken: next})
}

func (s *Sim) s3control(c *call) int {
	if id := c.r.Header.Get("X-Amz-Account-Id"); id != c.acct.ID {
		return c.fail(403, "AccessDenied", "Account id "+id+" does not match the caller's account")
	}
	if c.acct.PublicAccessBlock == nil {
		return c.fail(404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
	}
	return c.restXML(pab(c.acct.PublicAccessBlock, "http://awss3control.amazonaws.com/doc/2018-08-20/"))
}
