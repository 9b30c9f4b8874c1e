package awssim

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// call is one decoded request.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	acct    *Account
	region  string
	service string
	op      string
	form    url.Values
	json    map[string]any
	status  int
	// throttled is set when the answer was a throttling error.
	throttled bool
}

var credScope = regexp.MustCompile(`Credential=([^/]+)/[0-9]+/([^/]+)/([^/]+)/aws4_request`)

// assumedKey encodes the account of credentials AssumeRole handed out.
var assumedKey = regexp.MustCompile(`^ASIASIM([0-9]{12})`)

// ServeHTTP answers one AWS API request.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := credScope.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		http.Error(w, "missing signature", http.StatusForbidden)
		return
	}
	c := &call{w: w, r: r, region: m[2], service: m[3]}
	acctID := s.Home
	if k := assumedKey.FindStringSubmatch(m[1]); k != nil {
		acctID = k[1]
	}
	c.acct = s.Accounts[acctID]
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		t := r.Header.Get("X-Amz-Target")
		c.op = t[strings.LastIndex(t, ".")+1:]
		_ = json.Unmarshal(body, &c.json)
	case c.service == "s3" && strings.HasPrefix(r.URL.Path, "/v20180820/"):
		c.service = "s3control"
		c.op = "GetPublicAccessBlock"
	case c.service == "s3":
		c.op = s3Operation(r)
	case c.service == "backup":
		c.op, _ = backupOperation(r)
	case c.service == "guardduty" || c.service == "securityhub":
		// REST-JSON without X-Amz-Target: the method and path name the
		// operation, the body (if any) is its JSON input.
		c.op, _ = restJSONOperation(c.service, r)
		_ = json.Unmarshal(body, &c.json)
	case c.service == "tagging":
		c.op = taggingOperation(r)
		c.json = decodeCBOR(body)
	case c.service == "monitoring":
		c.op = cloudwatchOperation(r)
		c.json = decodeCBOR(body)
	default:
		c.form, _ = url.ParseQuery(string(body))
		c.op = c.form.Get("Action")
	}
	d := s.latency()
	time.Sleep(d / 2)
	var status int
	if c.acct != nil && !s.allow(acctID, c.service) {
		time.Sleep(d - d/2)
		st, code := throttleError(c.service)
		status, c.throttled = c.fail(st, code, "Rate exceeded"), true
	} else {
		time.Sleep(d - d/2)
		status = s.serve(c)
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Account: acctID, Region: c.region, Service: c.service, Operation: c.op, Status: status,
		RoleSessionName: c.form.Get("RoleSessionName"), Attempt: sdkAttempt(c.r), Throttled: c.throttled})
	s.mu.Unlock()
}

// sdkAttempt reads the attempt number from the SDK's "attempt=N; max=M".
func sdkAttempt(r *http.Request) int {
	for _, part := range strings.Split(r.Header.Get("Amz-Sdk-Request"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "attempt="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
	}
	return 1
}

func (s *Sim) serve(c *call) int {
	if c.acct == nil {
		return c.fail(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if s.fault(c) {
		return c.status
	}
	switch c.service {
	case "iam":
		return s.iam(c)
	case "sts":
		return s.sts(c)
	case "ec2":
		return s.ec2(c)
	case "organizations":
		return s.organizations(c)
	case "cloudtrail":
		return s.cloudtrail(c)
	case "logs":
		return s.logs(c)
	case "s3":
		return s.s3(c)
	case "s3control":
		return s.s3control(c)
	case "dynamodb":
		return s.dynamodb(c)
	case "kms":
		return s.kms(c)
	case "rds":
		return s.rds(c)
	case "backup":
		return s.backup(c)
	case "tagging":
		return s.tagging(c)
	case "monitoring":
		return s.monitoring(c)
	case "guardduty":
		return s.guardduty(c)
	case "securityhub":
		return s.securityhub(c)
	case "config":
		return s.config(c)
	case "sso":
		return s.ssoAdmin(c)
	case "identitystore":
		return s.identityStore(c)
	}
	return c.fail(400, "UnknownService", "service "+c.service+" is not simulated")
}

// fault answers injected throttling, denials and regions not enabled.
func (s *Sim) fault(c *call) bool {
	s.mu.Lock()
	throttle := s.throttles[c.op] > 0
	if throttle {
		s.throttles[c.op]--
	}
	deny, denyStatus := false, 0
	for _, d := range s.denials {
		if (d.account == "" || d.account == c.acct.ID) && (d.region == "" || d.region == c.region) &&
			(d.service == "" || d.service == c.service) && (d.operation == "" || d.operation == c.op) {
			deny, denyStatus = true, d.status
		}
	}
	s.mu.Unlock()
	switch {
	case throttle:
		status, code := throttleError(c.service)
		c.status, c.throttled = c.fail(status, code, "Rate exceeded"), true
		return true
	case deny && denyStatus >= 500:
		// S3 names its internal error differently from the other services.
		code, msg := "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."
		if c.service == "s3" || c.service == "s3control" {
			code, msg = "InternalError", "We encountered an internal error. Please try again."
		}
		if c.service == "dynamodb" {
			code, msg = "InternalServerError", "Internal server error"
		}
		if c.service == "kms" {
			code, msg = "KMSInternalException", "An internal error occurred."
		}
		if c.service == "backup" {
			code, msg = "ServiceUnavailableException", "The request failed due to a temporary failure of the server."
		}
		if c.service == "sso" || c.service == "identitystore" {
			code, msg = "InternalServerException", "The request processing has failed because of an unknown error, exception, or failure with an internal server."
		}
		if c.service == "tagging" {
			code, msg = "InternalServiceException", "The request processing failed because of an unknown error, exception, or failure."
		}
		if c.service == "guardduty" {
			code, msg = "InternalServerErrorException", "The request is rejected because an internal server error occurred."
		}
		if c.service == "securityhub" {
			code, msg = "InternalException", "Internal service failure."
		}
		if c.service == "monitoring" {
			code, msg = "InternalServiceError", "Internal service error"
		}
		c.status = c.fail(denyStatus, code, msg)
		return true
	case deny:
		prefix := c.service
		if prefix == "monitoring" {
			prefix = "cloudwatch" // CloudWatch signs as monitoring; its actions are cloudwatch:*
		}
		c.status = c.fail(403, accessDeniedCode(c.service), fmt.Sprintf("User: arn:aws:sts::%s:assumed-role/exhibit-reader/exhibit is not authorized to perform: %s:%s", c.acct.ID, prefix, c.op))
		return true
	}
	for _, r := range c.acct.Regions {
		if r.Name == c.region && r.NoService && c.service == "ec2" {
			// EC2 answers a region the account has not enabled as it
			// answers credentials it cannot validate.
			c.status = c.fail(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
			return true
		}
		if r.Name == c.region && r.NoService && (c.service == "rds" || c.service == "monitoring") {
			// Query-protocol services refuse a region the account has not
			// enabled as an invalid token, with 403.
			c.status = c.fail(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
			return true
		}
		if r.Name == c.region && r.NoService {
			c.status = c.fail(400, "UnrecognizedClientException", "The security token included in the request is invalid (region "+c.region+" is not enabled).")
			return true
		}
	}
	return false
}

// throttleError is the status and code each service throttles with.
func throttleError(service string) (int, string) {
	code := "Throttling"
	switch service {
	case "s3":
		code = "SlowDown"
	case "cloudtrail", "logs", "organizations", "kms", "dynamodb":
		code = "ThrottlingException"
	case "ec2":
		code = "RequestLimitExceeded"
	case "backup", "sso", "identitystore":
		code = "ThrottlingException"
	case "tagging":
		code = "ThrottledException"
	case "monitoring":
		code = "Throttling"
	case "config":
		code = "ThrottlingException"
	case "guardduty":
		code = "TooManyRequestsException"
	case "securityhub":
		// Security Hub throttles with LimitExceededException, 429.
		code = "LimitExceededException"
	}
	status := 400
	switch service {
	case "s3":
		status = 503
	case "guardduty", "securityhub":
		status = 429
	}
	return status, code
}

func accessDeniedCode(service string) string {
	switch service {
	case "cloudtrail", "logs", "organizations", "kms", "dynamodb", "backup", "tagging", "guardduty", "securityhub", "config", "sso", "identitystore":
		return "AccessDeniedException"
	case "ec2":
		return "UnauthorizedOperation"
	}
	return "AccessDenied"
}

func requestID() string {
	return fmt.Sprintf("sim-%d", time.Now().UnixNano())
}

// fail writes the service's own error shape.
func (c *call) fail(status int, code, msg string) int {
	id := requestID()
	h := c.w.Header()
	switch c.service {
	case "cloudtrail", "logs", "organizations", "config":
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("X-Amzn-Requestid", id)
		h.Set("X-Amzn-Errortype", code)
		c.w.WriteHeader(status)
		_ = json.NewEncoder(c.w).Encode(map[string]string{"__type": code, "message": msg})
	case "dynamodb":
		// JSON 1.0: the type is namespaced, as DynamoDB sends it.
		h.Set("Content-Type", "application/x-amz-json-1.0")
		h.Set("X-Amzn-Requestid", id)
		c.writeCRC32(status, map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": msg})
	case "kms":
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("X-Amzn-Requestid", id)
		c.w.WriteHeader(status)
		_ = json.NewEncoder(c.w).Encode(map[string]string{"__type": code, "message": msg})
	case "backup":
		// REST-JSON: the code in X-Amzn-Errortype and the body, with the
		// members Backup's error shapes model.
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-Requestid", id)
		h.Set("X-Amzn-Errortype", code)
		c.w.WriteHeader(status)
		_ = json.NewEncoder(c.w).Encode(map[string]string{"__type": code, "Code": code, "Message": msg})
	case "guardduty":
		// GuardDuty's error shapes model a lowerCamel message.
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-Requestid", id)
		h.Set("X-Amzn-Errortype", code)
		c.w.WriteHeader(status)
		_ = json.NewEncoder(c.w).Encode(map[string]string{"__type": code, "message": msg})
	case "securityhub":
		// Security Hub's carry Code and Message.
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-Requestid", id)
		h.Set("X-Amzn-Errortype", code)
		c.w.WriteHeader(status)
		_ = json.NewEncoder(c.w).Encode(map[string]string{"Code": code, "Message": msg})
	case "sso", "identitystore":
		// JSON 1.1; both services' error shapes carry Message.
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("X-Amzn-Requestid", id)
		c.w.WriteHeader(status)
		_ = json.NewEncoder(c.w).Encode(map[string]string{"__type": code, "Message": msg})
	case "tagging":
		return c.cbor(status, map[string]any{"__type": code, "message": msg, "Message": msg})
	case "monitoring":
		return c.cloudwatchFail(status, code, msg)
	case "ec2":
		h.Set("Content-Type", "text/xml")
		c.w.WriteHeader(status)
		fmt.Fprintf(c.w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, code, xmlText(msg), id)
	case "s3":
		h.Set("Content-Type", "application/xml")
		h.Set("X-Amz-Request-Id", id)
		c.w.WriteHeader(status)
		fmt.Fprintf(c.w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>`, code, xmlText(msg), id)
	case "s3control":
		// S3 Control wraps its errors, unlike S3.
		h.Set("Content-Type", "application/xml")
		h.Set("X-Amz-Request-Id", id)
		c.w.WriteHeader(status)
		fmt.Fprintf(c.w, `<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, code, xmlText(msg), id)
	case "rds":
		h.Set("Content-Type", "text/xml")
		h.Set("X-Amzn-Requestid", id)
		c.w.WriteHeader(status)
		fmt.Fprintf(c.w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, rdsNS, code, xmlText(msg), id)
	default:
		h.Set("Content-Type", "text/xml")
		h.Set("X-Amzn-Requestid", id)
		c.w.WriteHeader(status)
		fmt.Fprintf(c.w, `<ErrorResponse xmlns="https://%s.amazonaws.com/doc/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, c.service, code, xmlText(msg), id)
	}
	return status
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// queryXML writes a query-protocol answer: <OpResponse><OpResult>…</OpResult>.
func (c *call) queryXML(ns string, result any) int {
	id := requestID()
	c.w.Header().Set("Content-Type", "text/xml")
	c.w.Header().Set("X-Amzn-Requestid", id)
	inner, err := xml.Marshal(result)
	if err != nil {
		return c.fail(500, "InternalFailure", err.Error())
	}
	fmt.Fprintf(c.w, `<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		c.op, ns, c.op, stripRoot(inner), c.op, id, c.op)
	return 200
}

// stripRoot removes the outer element xml.Marshal adds around a struct.
func stripRoot(b []byte) []byte {
	s := string(b)
	i := strings.Index(s, ">")
	j := strings.LastIndex(s, "</")
	if i < 0 || j < i || strings.HasSuffix(s[:i+1], "/>") {
		return nil
	}
	return []byte(s[i+1 : j])
}

// jsonOK writes a JSON 1.1 answer.
func (c *call) jsonOK(v any) int {
	if c.service == "dynamodb" {
		c.w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		c.w.Header().Set("X-Amzn-Requestid", requestID())
		return c.writeCRC32(200, v)
	}
	c.w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	c.w.Header().Set("X-Amzn-Requestid", requestID())
	_ = json.NewEncoder(c.w).Encode(v)
	return 200
}

// writeCRC32 writes a DynamoDB answer with the CRC32 of its body in
// X-Amz-Crc32, as DynamoDB sends it and its SDK client checks.
func (c *call) writeCRC32(status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return c.fail(500, "InternalServerError", err.Error())
	}
	c.w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
	return status
}

// restXML writes an S3-style answer.
func (c *call) restXML(v any) int {
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.Header().Set("X-Amz-Request-Id", requestID())
	b, err := xml.Marshal(v)
	if err != nil {
		return c.fail(500, "InternalError", err.Error())
	}
	_, _ = c.w.Write([]byte(xml.Header))
	_, _ = c.w.Write(b)
	return 200
}

func (c *call) str(key string) string {
	if v, ok := c.json[key].(string); ok {
		return v
	}
	return ""
}

// page returns the slice [start:end) a token selects and the next token.
func page(total, size int, token string) (start, end int, next string) {
	fmt.Sscanf(token, "p%d", &start)
	if start < 0 || start > total {
		start = total
	}
	end = min(start+size, total)
	if end < total {
		next = fmt.Sprintf("p%d", end)
	}
	return start, end, next
}

func (s *Sim) pageSize(requested int) int {
	n := s.PageSize
	if n <= 0 {
		n = 100
	}
	if requested > 0 && requested < n {
		n = requested
	}
	return n
}
