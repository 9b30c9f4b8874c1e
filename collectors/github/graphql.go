package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// errGraphQLUnavailable means the GraphQL endpoint is not served (an old or
// restricted GitHub Enterprise Server); callers fall back to REST.
var errGraphQLUnavailable = errors.New("GraphQL endpoint not available")

// maxGraphQLResponse bounds how much of one response is read.
const maxGraphQLResponse = 32 << 20

type graphqlRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

type graphqlError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type graphqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []graphqlError  `json:"errors"`
}

// errGraphQLRateLimited is GraphQL's own refusal: HTTP 200 with an error
// of type RATE_LIMITED.
var errGraphQLRateLimited = errors.New("graphql: RATE_LIMITED")

// graphql posts one query and decodes its data into out. A RATE_LIMITED
// answer is retried: the transport has already waited for the reset when
// the headers announced it, else the query waits a minute, as GitHub
// advises.
func (c *clients) graphql(ctx context.Context, query string, vars map[string]any, out any) error {
	log, _ := ctx.Value(waitLogKey{}).(*waitLog)
	for attempt := 0; ; attempt++ {
		waited := log.count()
		err := c.graphqlOnce(ctx, query, vars, out)
		if !errors.Is(err, errGraphQLRateLimited) || attempt >= maxRateLimitRetries {
			return err
		}
		if log.count() > waited {
			continue // the transport waited for the announced reset
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.graphqlURL, nil)
		log.add(req, http.StatusOK, secondaryDefaultWait, "GraphQL RATE_LIMITED")
		if err := sleep(ctx, secondaryDefaultWait); err != nil {
			return fmt.Errorf("waiting for GitHub GraphQL rate limit: %w", err)
		}
	}
}

func (c *clients) graphqlOnce(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(graphqlRequest{Query: query, Variables: vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.graphqlURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("graphql: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxGraphQLResponse))
	if err != nil {
		return fmt.Errorf("graphql: read response: %w", err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return errGraphQLUnavailable
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("graphql: HTTP %d: %s", resp.StatusCode, snippet(raw))
	}
	return decodeGraphQL(raw, out)
}

// decodeGraphQL separates a GraphQL answer's errors from its data. Any error
// fails the query: partial data would silently drop pull requests.
func decodeGraphQL(raw []byte, out any) error {
	var r graphqlResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("graphql: decode response: %w", err)
	}
	if len(r.Errors) > 0 {
		msgs := make([]string, 0, len(r.Errors))
		for _, e := range r.Errors {
			if e.Type == "RATE_LIMITED" {
				return fmt.Errorf("%w: %s", errGraphQLRateLimited, e.Message)
			}
			m := e.Message
			if e.Type != "" {
				m = e.Type + ": " + m
			}
			msgs = append(msgs, m)
		}
		return fmt.Errorf("graphql: %s", strings.Join(msgs, "; "))
	}
	if len(r.Data) == 0 || string(r.Data) == "null" {
		return errors.New("graphql: response has no data")
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		return fmt.Errorf("graphql: decode data: %w", err)
	}
	return nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
