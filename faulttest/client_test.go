package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// Superuser credentials of the worker apps.
const (
	superuserEmail    = "fault@example.com"
	superuserPassword = "fault-pass-123456"
)

// client calls a worker's HTTP API. It is safe for concurrent use.
type client struct {
	base  string
	http  *http.Client
	token string
}

// newClient returns a client of the server at base (http://127.0.0.1:PORT)
// that keeps up to conns connections open.
func newClient(base string, conns int) *client {
	transport := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
	}
	return &client{base: base, http: &http.Client{Transport: transport, Timeout: 30 * time.Second}}
}

// superuserClient returns a client of n's API, keeping up to conns
// connections open, signed in as the superuser n.createSuperuser made. It
// is closed when t ends.
func superuserClient(t *testing.T, n *node, conns int) *client {
	t.Helper()
	c := newClient(n.url(""), conns)
	t.Cleanup(c.close)
	if err := c.signIn(context.Background(), superuserEmail, superuserPassword); err != nil {
		t.Fatal(err)
	}
	return c
}

// close releases the client's idle connections.
func (c *client) close() { c.http.CloseIdleConnections() }

// signIn authenticates as the superuser; later requests carry its token.
func (c *client) signIn(ctx context.Context, email, password string) error {
	var auth struct {
		Token string `json:"token"`
	}
	status, err := c.do(ctx, http.MethodPost, "/api/collections/_superusers/auth-with-password",
		map[string]string{"identity": email, "password": password}, &auth)
	if err != nil {
		return fmt.Errorf("sign in as %s: %w", email, err)
	}
	if status != http.StatusOK || auth.Token == "" {
		return fmt.Errorf("sign in as %s: status %d", email, status)
	}
	c.token = auth.Token
	return nil
}

// enqueue posts an enqueue body and returns the new job's id and the
// response status. A status other than 200 is not an error here: callers
// count them.
func (c *client) enqueue(ctx context.Context, body map[string]any) (string, int, error) {
	var job struct {
		ID string `json:"id"`
	}
	status, err := c.do(ctx, http.MethodPost, "/api/jobs/enqueue", body, &job)
	return job.ID, status, err
}

// do sends a request with body as JSON (nil for none) and decodes a 2xx
// response into out (nil to discard it). It returns the status; err is only
// for a request that got no complete response.
func (c *client) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var reader io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode the body of %s %s: %w", method, path, err)
		}
		reader = bytes.NewReader(encoded)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reader)
	if err != nil {
		return 0, fmt.Errorf("new request %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read the response of %s %s: %w", method, path, err)
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode the response of %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}
