package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pocketbase/pocketbase/tests"
)

// FuzzReadEnqueueRequest feeds arbitrary bodies to the decoder of
// POST /api/jobs/enqueue. It never panics; it refuses with errInvalidBody (a
// 400) or accepts a JSON object whose topic is a non-blank string, whose
// payload is valid JSON (which the store encodes, or refuses with a 400) and
// whose max_retries maps to a valid option, with no other member, in UTF-8.
func FuzzReadEnqueueRequest(f *testing.F) {
	seeds := []string{
		`{"topic":"mail_digest","payload":{"user_id":"123"}}`,
		`{"topic":"report","payload":[1,2,3],"run_at":"2030-02-01T07:00:00+01:00","max_retries":5}`,
		`{"topic":"report","run_at":"2030-02-01 06:00:00.000Z","max_retries":0}`,
		`{"topic":"t","run_at":null,"max_retries":null,"payload":null}`,
		`{"topic":"   "}`,
		`{"topic":7}`,
		`{"topic":"t","max_retries":-1}`,
		`{"topic":"t","max_retries":1.5}`,
		`{"topic":"t","run_at":"tomorrow"}`,
		`{"topic":"t"} trailing`,
		`[{"topic":"t"}]`,
		`null`,
		``,
		`{"Topic":"t"}`,
		`{"topic":"a","topic":"b"}`,
		`{"topic":"x'; DROP TABLE _jobs; --","payload":"\u0000"}`,
		`{"topic":"t","runAt":"2030-02-01T07:00:00Z","maxRetries":0}`,
		`{"topic":"t","run_at":"2030-02-01T07:00:00+24:00"}`,
		"{\"topic\":\"t\xff\"}",
	}
	for _, s := range seeds {
		f.Add([]byte(s), true)
	}
	f.Add([]byte(`{"topic":"t"}`), false)

	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		r := httptest.NewRequest(http.MethodPost, "/api/jobs/enqueue", bytes.NewReader(body))
		if asJSON {
			r.Header.Set("Content-Type", "application/json")
		}
		read, err := readJSONBody(httptest.NewRecorder(), r, int64(len(body)))
		var req *enqueueRequest
		if err == nil {
			req, err = decodeEnqueueRequest(read)
		}
		if err != nil {
			if !errors.Is(err, errInvalidBody) {
				t.Fatalf("refused with %v, want errInvalidBody", err)
			}
			if status := toAPIError(err).Status; status != http.StatusBadRequest {
				t.Fatalf("refusal %v answers %d, want 400", err, status)
			}
			return
		}
		if !asJSON {
			t.Fatal("accepted a body not sent as application/json")
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted %q, which is not UTF-8", body)
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(body, &members); err != nil || members == nil {
			t.Fatalf("accepted %q, which is not a JSON object", body)
		}
		for name := range members {
			if !isEnqueueMember(name) {
				t.Fatalf("accepted the unknown member %q", name)
			}
		}
		var topic string
		if err := json.Unmarshal(members["topic"], &topic); err != nil || topic != req.topic {
			t.Fatalf("topic %q, but the body's topic member is %s", req.topic, members["topic"])
		}
		if strings.TrimSpace(req.topic) == "" {
			t.Fatalf("accepted a blank topic %q", req.topic)
		}
		if req.payload != nil && !json.Valid(req.payload) {
			t.Fatalf("accepted a payload that is not JSON: %q", req.payload)
		}
		if _, err := encodePayload(req.payload); err != nil && toAPIError(err).Status != http.StatusBadRequest {
			t.Fatalf("the store cannot encode the accepted payload %q, and does not refuse it with a 400: %v", req.payload, err)
		}
		if req.opts.MaxRetries < NoRetries {
			t.Fatalf("max_retries decoded to %d, below NoRetries", req.opts.MaxRetries)
		}
		if req.opts.MaxRetries == 0 && !isJSONNullOrMissing(members["max_retries"]) {
			t.Fatalf("max_retries %s decoded to 0 (the config's default)", members["max_retries"])
		}
		var runAt string
		_ = json.Unmarshal(members["run_at"], &runAt)
		if (runAt == "") != req.opts.RunAt.IsZero() {
			t.Fatalf("run_at %s decoded to %v", members["run_at"], req.opts.RunAt)
		}
	})
}

// isJSONNullOrMissing tells whether a member is absent or null.
func isJSONNullOrMissing(raw json.RawMessage) bool {
	return raw == nil || string(bytes.TrimSpace(raw)) == "null"
}

// FuzzParseListQuery feeds arbitrary query strings to the parser of
// GET /api/jobs and the parsed filter to JobStore.List. Neither panics; an
// error is ErrInvalidFilter; a listed page has a limit of 1..MaxListLimit, a
// non-negative offset, and only jobs that match the filter.
func FuzzParseListQuery(f *testing.F) {
	seeds := []string{
		"",
		"topic=mail_digest&status=pending&limit=20&offset=0",
		"status=failed&limit=500",
		"limit=0",
		"limit=501",
		"limit=-1",
		"offset=-5",
		"limit=abc",
		"limit=%2B7",
		"offset=99999999999999999999",
		"limit=1&limit=2",
		"status=PENDING",
		"topic=x%27%3B+DROP+TABLE+_jobs%3B+--",
		"status=%22+OR+1%3D1+--",
		"topic=%25%27+OR+%271%27%3D%271",
		"topic=%00",
		"%zz=1&limit=3",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	store := fuzzStore(f)

	f.Fuzz(func(t *testing.T, raw string) {
		query, _ := url.ParseQuery(raw) // what parses is what a request would carry
		filter, err := parseListQuery(query)
		if err != nil {
			if !errors.Is(err, ErrInvalidFilter) {
				t.Fatalf("parse %q: %v, want ErrInvalidFilter", raw, err)
			}
			if isInt(query.Get("limit")) && isInt(query.Get("offset")) {
				t.Fatalf("parse %q refused integers: %v", raw, err)
			}
			return
		}
		if filter.Topic != query.Get("topic") || filter.Status != query.Get("status") {
			t.Fatalf("parse %q: topic %q, status %q", raw, filter.Topic, filter.Status)
		}

		list, err := store.List(filter)
		valid := (filter.Status == "" || isValidStatus(filter.Status)) &&
			filter.Limit >= 0 && filter.Limit <= MaxListLimit && filter.Offset >= 0
		if err != nil {
			if !errors.Is(err, ErrInvalidFilter) || valid {
				t.Fatalf("list %+v: %v", *filter, err)
			}
			return
		}
		if !valid {
			t.Fatalf("list accepted the invalid filter %+v", *filter)
		}
		if list.Limit < 1 || list.Limit > MaxListLimit || list.Offset != filter.Offset || len(list.Items) > list.Limit ||
			list.Total < int64(len(list.Items)) {
			t.Fatalf("list %+v: limit %d, offset %d, %d items of %d", *filter, list.Limit, list.Offset, len(list.Items), list.Total)
		}
		for _, job := range list.Items {
			if (filter.Topic != "" && job.Topic != filter.Topic) || (filter.Status != "" && job.Status != filter.Status) {
				t.Fatalf("list %+v returned job %s of topic %q, status %s", *filter, job.ID, job.Topic, job.Status)
			}
		}
	})
}

// isInt tells whether a query value is missing or parses as an int.
func isInt(v string) bool {
	if v == "" {
		return true
	}
	_, err := strconv.Atoi(v)
	return err == nil
}

// fuzzStore returns the store of a test app with a few pending jobs, for
// the whole fuzz run.
func fuzzStore(f *testing.F) *JobStore {
	f.Helper()
	app, err := tests.NewTestApp()
	if err != nil {
		f.Fatalf("new test app: %v", err)
	}
	f.Cleanup(app.Cleanup)
	cfg := DefaultConfig()
	cfg.AutoStart, cfg.HTTPEnabled = false, false
	if err := Register(app, cfg); err != nil {
		f.Fatalf("register: %v", err)
	}
	store := GetJobStore(app)
	for _, topic := range []string{"mail_digest", "report", "x'; DROP TABLE _jobs; --"} {
		if _, err := store.Enqueue(topic, map[string]string{"topic": topic}); err != nil {
			f.Fatalf("enqueue %q: %v", topic, err)
		}
	}
	return store
}

// FuzzUnmarshalPayload decodes arbitrary bytes as a job's payload. It never
// panics; it succeeds exactly for valid JSON (into a json.RawMessage), names
// the job when it fails, and a payload that went through the store's
// encoding decodes to the same value (the store refuses only JSON that is
// not UTF-8 or holds keys a decoder may take for one another).
func FuzzUnmarshalPayload(f *testing.F) {
	seeds := []string{
		`{"user_id":"123"}`, `[1,2.5,"x",null,true]`, `"text"`, `42`, `null`, ``, `{`, `{"a":1}{}`,
		`{"a":"\u0000\ud800"}`, `1e400`, `  {"nested":{"deep":[[[]]]}}  `, `<script>&</script>`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		job := &Job{ID: "fuzzjob", Payload: payload}
		var raw json.RawMessage
		err := job.UnmarshalPayload(&raw)
		if json.Valid(payload) != (err == nil) {
			t.Fatalf("payload %q (valid JSON: %v) decoded with error %v", payload, json.Valid(payload), err)
		}
		if err != nil && !strings.Contains(err.Error(), job.ID) {
			t.Fatalf("error %q does not name the job", err)
		}
		// Other destinations may fail (1e400 is no float64) but never panic.
		var v any
		vErr := job.UnmarshalPayload(&v)
		if err != nil && vErr == nil {
			t.Fatalf("payload %q is not JSON, yet decoded to %#v", payload, v)
		}
		var m map[string]any
		_ = job.UnmarshalPayload(&m)
		var typed struct {
			UserID string  `json:"user_id"`
			N      float64 `json:"n"`
		}
		_ = job.UnmarshalPayload(&typed)
		if job.UnmarshalPayload(nil) == nil {
			t.Fatal("decoding into nil succeeded")
		}
		if err != nil {
			return
		}

		encoded, err := encodePayload(json.RawMessage(payload))
		if err != nil {
			// Only JSON that is not UTF-8, or with keys a decoder may take
			// for one another, is refused.
			if !errors.Is(err, ErrInvalidPayload) || (utf8.Valid(payload) && !referenceAmbiguousKeys(t, payload)) {
				t.Fatalf("the store refused valid JSON %q: %v", payload, err)
			}
			return
		}
		var again any
		againErr := (&Job{ID: "stored", Payload: encoded}).UnmarshalPayload(&again)
		if (vErr == nil) != (againErr == nil) {
			t.Fatalf("payload %q decodes with error %v, its stored form %q with %v", payload, vErr, encoded, againErr)
		}
		if !reflect.DeepEqual(v, again) {
			t.Fatalf("payload %q decodes to %#v, its stored form %q to %#v", payload, v, encoded, again)
		}
	})
}
