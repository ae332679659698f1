package browsertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// apiTimeout bounds one HTTP call to the test app.
const apiTimeout = 10 * time.Second

// farRunAt is a run_at no test outlives: a job enqueued with it stays
// pending.
const farRunAt = "2099-01-01T00:00:00Z"

// apiClient is the client of every HTTP call to the test app.
var apiClient = &http.Client{Timeout: apiTimeout}

// apiJob is the part of the API's job JSON the tests read.
type apiJob struct {
	ID         string          `json:"id"`
	Topic      string          `json:"topic"`
	Status     string          `json:"status"`
	Payload    json.RawMessage `json:"payload"`
	Attempts   int             `json:"attempts"`
	MaxRetries int             `json:"max_retries"`
	LastError  string          `json:"last_error"`
}

// apiTopic is the part of the API's topic JSON the tests read.
type apiTopic struct {
	Topic  string `json:"topic"`
	Paused bool   `json:"paused"`
}

// enqueueBody is the body of POST /api/jobs/enqueue.
type enqueueBody struct {
	Topic      string `json:"topic"`
	Payload    any    `json:"payload,omitempty"`
	RunAt      string `json:"run_at,omitempty"`
	MaxRetries *int   `json:"max_retries,omitempty"`
	Priority   int    `json:"priority,omitempty"`
	UniqueKey  string `json:"unique_key,omitempty"`
}

// retries returns a pointer to n, for enqueueBody.MaxRetries.
func retries(n int) *int { return &n }

// signInOverHTTP signs the superuser in at the app at baseURL and returns
// the token.
func signInOverHTTP(baseURL string) (string, error) {
	body, _ := json.Marshal(map[string]string{"identity": superuserEmail, "password": superuserPassword})
	resp, err := apiClient.Post(baseURL+"/api/collections/_superusers/auth-with-password", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	defer resp.Body.Close()
	var auth struct {
		Token string `json:"token"`
	}
	if err := decodeResponse(resp, &auth); err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	return auth.Token, nil
}

// decodeResponse decodes a 2xx answer's JSON into out (nil: no body
// expected), or returns the status and body of any other answer.
func decodeResponse(resp *http.Response, out any) error {
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", resp.Request.Method, resp.Request.URL.Path, resp.Status, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// callAPI sends method path with body as JSON (nil: none) and the
// superuser's token, and decodes the answer into out; any failure or
// non-2xx answer fails the test.
func callAPI(t testing.TB, method, path string, body, out any) {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, server.url+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", server.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := decodeResponse(resp, out); err != nil {
		t.Fatal(err)
	}
}

// enqueue adds a job over HTTP, as curl would.
func enqueue(t testing.TB, body enqueueBody) apiJob {
	t.Helper()
	var job apiJob
	callAPI(t, http.MethodPost, "/api/jobs/enqueue", body, &job)
	return job
}

// getJob reads one job over HTTP.
func getJob(t testing.TB, id string) apiJob {
	t.Helper()
	var job apiJob
	callAPI(t, http.MethodGet, "/api/jobs/"+url.PathEscape(id), nil, &job)
	return job
}

// waitJobStatus polls the API until the job has status, and fails the test
// when it has not within waitTimeout.
func waitJobStatus(t testing.TB, id, status string) apiJob {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		job := getJob(t, id)
		if job.Status == status {
			return job
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s, not %s, after %s", id, job.Status, status, waitTimeout)
		}
		time.Sleep(pollInterval) // the pace of the poll, not a wait for an event
	}
}

// topicPaused reports whether GET /api/jobs/topics says topic is paused.
func topicPaused(t testing.TB, topic string) bool {
	t.Helper()
	var topics []apiTopic
	callAPI(t, http.MethodGet, "/api/jobs/topics", nil, &topics)
	for _, info := range topics {
		if info.Topic == topic {
			return info.Paused
		}
	}
	t.Fatalf("GET /api/jobs/topics has no topic %q", topic)
	return false
}

// setTopicPaused pauses or resumes topic over HTTP.
func setTopicPaused(t testing.TB, topic string, paused bool) {
	t.Helper()
	action := "resume"
	if paused {
		action = "pause"
	}
	callAPI(t, http.MethodPost, "/api/jobs/topics/"+url.PathEscape(topic)+"/"+action, nil, nil)
}

// pauseDuringTest pauses topic over HTTP and resumes it when the test ends.
func pauseDuringTest(t testing.TB, topic string) {
	t.Helper()
	setTopicPaused(t, topic, true)
	t.Cleanup(func() { setTopicPaused(t, topic, false) })
}
