package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	validation "github.com/go-ozzo/ozzo-validation/v4"
)

// jsonString returns a JSON string literal of exactly n bytes.
func jsonString(n int) string {
	return `"` + strings.Repeat("a", n-2) + `"`
}

// expectTotal returns a check that the app holds total jobs.
func expectTotal(total int64) func(t testing.TB, f *apiFixture) {
	return func(t testing.TB, f *apiFixture) {
		stats, err := GetJobStore(f.app).Stats()
		if err != nil || stats.Total != total {
			t.Errorf("stats %+v, %v; want %d jobs", stats, err, total)
		}
	}
}

// TestAPIBadInput sends requests the API must refuse, as a superuser: each
// gets its status and PocketBase's error JSON, and changes no job.
func TestAPIBadInput(t *testing.T) {
	const enqueue = "/api/jobs/enqueue"
	notObject := `"message":"Invalid request body: the body must be a JSON object."`
	notJSON := `"message":"Invalid request body: the Content-Type must be application/json."`
	notUTF8 := `"message":"Invalid request body: the body must be valid UTF-8."`
	cases := []apiCase{
		// the enqueue body
		{name: "body is not JSON", url: enqueue, body: `{"topic":`, status: 400, content: []string{notObject}},
		{name: "body is an array", url: enqueue, body: `[{"topic":"a"}]`, status: 400, content: []string{notObject}},
		{name: "body is a string", url: enqueue, body: `"a"`, status: 400, content: []string{notObject}},
		{name: "body is null", url: enqueue, body: `null`, status: 400, content: []string{notObject}},
		{name: "body is empty", url: enqueue, body: ``, status: 400, content: []string{notObject}},
		{name: "body has trailing data", url: enqueue, body: `{"topic":"a"} {}`, status: 400, content: []string{notObject}},
		{
			name: "body is not sent as JSON", url: enqueue, body: `{"topic":"a"}`,
			headers: map[string]string{"Content-Type": "text/plain"},
			status:  400, content: []string{notJSON},
		},
		{
			name: "body is sent as a media type that starts like JSON", url: enqueue, body: `{"topic":"a"}`,
			headers: map[string]string{"Content-Type": "application/jsonx"},
			status:  400, content: []string{notJSON},
		},
		{
			name: "body is sent as JSON Patch", url: enqueue, body: `{"topic":"a"}`,
			headers: map[string]string{"Content-Type": "application/json-patch+json"},
			status:  400, content: []string{notJSON},
		},
		{
			name: "body is sent with a malformed Content-Type", url: enqueue, body: `{"topic":"a"}`,
			headers: map[string]string{"Content-Type": "application/json; charset"},
			status:  400, content: []string{notJSON},
		},
		{name: "topic is not UTF-8", url: enqueue, body: "{\"topic\":\"a\xff\"}", status: 400, content: []string{notUTF8}},
		{name: "payload is not UTF-8", url: enqueue, body: "{\"topic\":\"a\",\"payload\":{\"k\":\"\xc3\"}}", status: 400, content: []string{notUTF8}},
		{name: "member name is not UTF-8", url: enqueue, body: "{\"topic\":\"a\",\"\xed\xa0\x80\":1}", status: 400, content: []string{notUTF8}},
		{
			name: "body is over the body limit", url: enqueue,
			body:   `{"topic":"a","payload":` + jsonString(int(enqueueBodyLimit(apiTestMaxPayload))) + `}`,
			status: 413, content: []string{`"status":413`, `"message":"Request entity too large."`},
		},
		{
			name: "body without a length is over the body limit", url: enqueue, stream: true,
			body:   `{"topic":"a","payload":` + jsonString(int(enqueueBodyLimit(apiTestMaxPayload))) + `}`,
			status: 413, content: []string{`"status":413`, `"message":"Request entity too large."`},
		},

		// topic
		{
			name: "topic is missing", url: enqueue, body: `{"payload":1}`, status: 400,
			content: []string{`"data":{"topic":{"code":"validation_required","message":"Cannot be blank."}}`},
		},
		{
			name: "topic is empty", url: enqueue, body: `{"topic":""}`, status: 400,
			content: []string{`"data":{"topic":{"code":"validation_required","message":"Cannot be blank."}}`},
		},
		{
			name: "topic is blank", url: enqueue, body: `{"topic":"  "}`, status: 400,
			content: []string{`"data":{"topic":{"code":"validation_required","message":"Cannot be blank."}}`},
		},
		{
			name: "topic is null", url: enqueue, body: `{"topic":null}`, status: 400,
			content: []string{`"data":{"topic":{"code":"validation_required","message":"Cannot be blank."}}`},
		},
		{
			name: "topic is not a string", url: enqueue, body: `{"topic":5}`, status: 400,
			content: []string{`"data":{"topic":{"code":"validation_invalid_type","message":"Must be a string."}}`},
		},

		// payload
		{
			name: "payload is over MaxPayloadSize", url: enqueue,
			body:   `{"topic":"a","payload":` + jsonString(apiTestMaxPayload+1) + `}`,
			status: 413, content: []string{`"message":"Payload too large: 1025 bytes, the limit is 1024."`},
		},

		// run_at
		{
			name: "run_at is not a date", url: enqueue, body: `{"topic":"a","run_at":"tomorrow"}`, status: 400,
			content: []string{`"data":{"run_at":{"code":"validation_invalid_date"`},
		},
		{
			name: "run_at is a date without a time", url: enqueue, body: `{"topic":"a","run_at":"2030-01-02"}`, status: 400,
			content: []string{`"data":{"run_at":{"code":"validation_invalid_date"`},
		},
		{
			name: "run_at is a number", url: enqueue, body: `{"topic":"a","run_at":1893553445}`, status: 400,
			content: []string{`"data":{"run_at":{"code":"validation_invalid_type","message":"Must be a string."}}`},
		},
		{
			name: "run_at has an offset of 24 hours", url: enqueue, body: `{"topic":"a","run_at":"2030-01-02T03:04:05+24:00"}`, status: 400,
			content: []string{`"data":{"run_at":{"code":"validation_invalid_date"`},
		},
		{
			name: "run_at has an offset of 60 minutes", url: enqueue, body: `{"topic":"a","run_at":"2030-01-02T03:04:05-23:60"}`, status: 400,
			content: []string{`"data":{"run_at":{"code":"validation_invalid_date"`},
		},
		{
			name: "run_at in PocketBase's form has an offset of 24 hours", url: enqueue, body: `{"topic":"a","run_at":"2030-01-02 03:04:05.000+24:00"}`, status: 400,
			content: []string{`"data":{"run_at":{"code":"validation_invalid_date"`},
		},
		{
			name: "run_at has a one-digit hour", url: enqueue, body: `{"topic":"a","run_at":"2030-01-02T3:04:05Z"}`, status: 400,
			content: []string{`"data":{"run_at":{"code":"validation_invalid_date"`},
		},
		{
			name: "run_at has a decimal comma", url: enqueue, body: `{"topic":"a","run_at":"2030-01-02T03:04:05,5Z"}`, status: 400,
			content: []string{`"data":{"run_at":{"code":"validation_invalid_date"`},
		},

		// max_retries
		{
			name: "max_retries is negative", url: enqueue, body: `{"topic":"a","max_retries":-1}`, status: 400,
			content: []string{`"data":{"max_retries":{"code":"validation_min_greater_equal_than_required","message":"Must be no less than 0."}}`},
		},
		{
			name: "max_retries is a fraction", url: enqueue, body: `{"topic":"a","max_retries":1.5}`, status: 400,
			content: []string{`"data":{"max_retries":{"code":"validation_invalid_type","message":"Must be an integer."}}`},
		},
		{
			name: "max_retries is a string", url: enqueue, body: `{"topic":"a","max_retries":"3"}`, status: 400,
			content: []string{`"data":{"max_retries":{"code":"validation_invalid_type","message":"Must be an integer."}}`},
		},
		{
			name: "priority is a fraction", url: enqueue, body: `{"topic":"a","priority":1.5}`, status: 400,
			content: []string{`"data":{"priority":{"code":"validation_invalid_type","message":"Must be an integer."}}`},
		},
		{
			name: "priority is out of range", url: enqueue, body: `{"topic":"a","priority":2000}`, status: 400,
			content: []string{`"message":"Invalid options: Priority 2000 is outside -1000..1000."`},
		},
		{
			name: "unique_key is a number", url: enqueue, body: `{"topic":"a","unique_key":7}`, status: 400,
			content: []string{`"data":{"unique_key":{"code":"validation_invalid_type","message":"Must be a string."}}`},
		},
		{
			name: "several members are wrong", url: enqueue, body: `{"topic":1,"run_at":"x","max_retries":-2}`, status: 400,
			content: []string{
				`"message":"Invalid request body: max_retries: must be no less than 0; run_at: must be an RFC 3339 date`,
				`"max_retries":{"code":"validation_min_greater_equal_than_required"`,
				`"run_at":{"code":"validation_invalid_date"`,
				`"topic":{"code":"validation_invalid_type"`,
			},
		},

		// unknown members
		{
			name: "a member in camel case", url: enqueue, body: `{"topic":"a","runAt":"2030-01-02T03:04:05Z"}`, status: 400,
			content: []string{
				`"message":"Invalid request body: runAt: unknown member."`,
				`"data":{"runAt":{"code":"validation_unknown_member","message":"Unknown member."}}`,
			},
		},
		{
			name: "a member in another case", url: enqueue, body: `{"topic":"a","TOPIC":"b"}`, status: 400,
			content: []string{`"data":{"TOPIC":{"code":"validation_unknown_member","message":"Unknown member."}}`},
		},
		{
			name: "the topic under another name", url: enqueue, body: `{"Topic":"a"}`, status: 400,
			content: []string{
				`"data":{"Topic":{"code":"validation_unknown_member","message":"Unknown member."},"topic":{"code":"validation_required"`,
			},
		},
		{
			name: "several unknown members", url: enqueue, body: `{"topic":"a","maxRetries":0,"runAt":"x","uniqueKey":"k"}`, status: 400,
			content: []string{
				`"message":"Invalid request body: maxRetries: unknown member; runAt: unknown member; uniqueKey: unknown member."`,
				`"maxRetries":{"code":"validation_unknown_member"`,
				`"uniqueKey":{"code":"validation_unknown_member"`,
				`"runAt":{"code":"validation_unknown_member"`,
			},
		},

		// the list filter
		{
			name: "status filter is unknown", method: http.MethodGet, url: "/api/jobs?status=bogus", status: 400,
			content: []string{`"message":"Invalid job filter: unknown status \"bogus\"."`},
		},
		{
			name: "limit is negative", method: http.MethodGet, url: "/api/jobs?limit=-1", status: 400,
			content: []string{`"message":"Invalid job filter: limit -1 is outside 0..500."`},
		},
		{
			name: "limit is above MaxListLimit", method: http.MethodGet, url: fmt.Sprintf("/api/jobs?limit=%d", MaxListLimit+1), status: 400,
			content: []string{`"message":"Invalid job filter: limit 501 is outside 0..500."`},
		},
		{
			name: "limit is not a number", method: http.MethodGet, url: "/api/jobs?limit=ten", status: 400,
			content: []string{`"message":"Invalid job filter: limit \"ten\" is not an integer."`},
		},
		{
			name: "limit is a fraction", method: http.MethodGet, url: "/api/jobs?limit=1.5", status: 400,
			content: []string{`"message":"Invalid job filter: limit \"1.5\" is not an integer."`},
		},
		{
			name: "offset is negative", method: http.MethodGet, url: "/api/jobs?offset=-1", status: 400,
			content: []string{`"message":"Invalid job filter: offset -1 is negative."`},
		},
		{
			name: "offset is not a number", method: http.MethodGet, url: "/api/jobs?offset=x", status: 400,
			content: []string{`"message":"Invalid job filter: offset \"x\" is not an integer."`},
		},

		// ids and statuses
		{
			name: "get an unknown id", method: http.MethodGet, url: "/api/jobs/nosuchjob", status: 404,
			content: []string{`"status":404`, `job not found.`},
		},
		{
			name: "requeue an unknown id", url: "/api/jobs/nosuchjob/requeue", status: 404,
			content: []string{`"status":404`, `job not found.`},
		},
		{
			name: "delete an unknown id", method: http.MethodDelete, url: "/api/jobs/nosuchjob", status: 404,
			content: []string{`"status":404`, `job not found.`},
		},
		{
			name: "requeue a pending job", url: "/api/jobs/{pending}/requeue", status: 409,
			content: []string{`"status":409`, `only failed or cancelled jobs can be requeued.`},
		},
		{
			name: "requeue a completed job", url: "/api/jobs/{completed}/requeue", status: 409,
			content: []string{`"status":409`, `only failed or cancelled jobs can be requeued.`},
		},
		{
			name: "delete a completed job", method: http.MethodDelete, url: "/api/jobs/{completed}", status: 409,
			content: []string{`"status":409`, `only pending, failed or cancelled jobs can be deleted.`},
		},
	}
	f := newAPIFixture(t, apiConfig())
	for _, c := range cases {
		if c.method == "" {
			c.method = http.MethodPost
		}
		c.auth = asSuperuser
		c.run(t, f)
	}
}

// TestAPIBadBodyBeforeRule checks that a non-empty enqueue rule reads the
// body, so a malformed body answers 400 even before the rule is evaluated.
func TestAPIBadBodyBeforeRule(t *testing.T) {
	f := newAPIFixture(t, apiConfig())
	for _, auth := range []string{asGuest, asUser} {
		apiCase{
			name: "as " + auth, method: http.MethodPost, url: "/api/jobs/enqueue", body: `{"topic":`, auth: auth,
			status: 400, content: []string{`"message":"Invalid request body: the body must be a JSON object."`},
		}.run(t, f)
	}
}

// TestAPIDeleteProcessing checks that a running job cannot be deleted.
func TestAPIDeleteProcessing(t *testing.T) {
	f := newAPIFixture(t, apiConfig())
	store := GetJobStore(f.app)
	release := make(chan struct{})
	if err := store.Register("slow", func(job *Job) error {
		select {
		case <-release:
		case <-job.Context().Done():
		}
		return nil
	}); err != nil {
		t.Fatalf("register: %v", err)
	}
	job, err := store.Enqueue("slow", nil)
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	if err := store.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { close(release) }) // before the app's cleanup stops the dispatcher
	waitStatus(t, store, job.ID, StatusProcessing)

	apiCase{
		name: "delete a processing job", method: http.MethodDelete, url: "/api/jobs/" + job.ID, auth: asSuperuser,
		status: 409, content: []string{`"status":409`, `only pending, failed or cancelled jobs can be deleted.`},
		check: func(t testing.TB, f *apiFixture) {
			if got := f.job(t, job.ID); got == nil || got.Status != StatusProcessing {
				t.Errorf("job after the refused delete: %+v, want it processing", got)
			}
		},
	}.run(t, f)
}

// TestAPIAllowedTopics checks that AllowedTopics limits what enqueue
// accepts, for superusers too.
func TestAPIAllowedTopics(t *testing.T) {
	cfg := apiConfig()
	cfg.AllowedTopics = []string{"mail_digest", "resize"}
	f := newAPIFixture(t, cfg)
	cases := []apiCase{
		{
			name: "a topic outside AllowedTopics", body: `{"topic":"drop_tables"}`, status: 403,
			content: []string{`"status":403`, `"message":"Topic not allowed: \"drop_tables\"."`},
		},
		{
			name: "a topic in AllowedTopics", body: `{"topic":"resize"}`, status: 200,
			content: []string{`"topic":"resize"`}, check: expectTotal(4),
		},
	}
	for _, c := range cases {
		c.method, c.url, c.auth = http.MethodPost, "/api/jobs/enqueue", asSuperuser
		c.run(t, f)
	}
}

// TestAPIEnqueueOptions checks what enqueue makes of each form of its
// members.
func TestAPIEnqueueOptions(t *testing.T) {
	cases := []apiCase{
		{name: "max_retries is missing", body: `{"topic":"a"}`, content: []string{`"max_retries":3`}},
		{name: "max_retries is null", body: `{"topic":"a","max_retries":null}`, content: []string{`"max_retries":3`}},
		{name: "max_retries is 0", body: `{"topic":"a","max_retries":0}`, content: []string{`"max_retries":0`}},
		{name: "max_retries is 5", body: `{"topic":"a","max_retries":5}`, content: []string{`"max_retries":5`}},
		{
			name: "run_at in RFC 3339", body: `{"topic":"a","run_at":"2030-01-02T05:04:05.123+02:00"}`,
			content: []string{`"run_at":"2030-01-02T03:04:05.123Z"`},
		},
		{
			name: "run_at in PocketBase's form", body: `{"topic":"a","run_at":"2030-01-02 03:04:05.000Z"}`,
			content: []string{`"run_at":"2030-01-02T03:04:05Z"`},
		},
		{name: "priority is missing", body: `{"topic":"a"}`, content: []string{`"priority":0,"unique_key":""`}},
		{name: "priority and unique_key", body: `{"topic":"a","priority":-1000,"unique_key":"user-7"}`, content: []string{`"priority":-1000,"unique_key":"user-7"`}},
		{name: "payload is missing", body: `{"topic":"a"}`, content: []string{`"payload":null`}},
		{name: "payload is a number", body: `{"topic":"a","payload":12345678901234567890}`, content: []string{`"payload":12345678901234567890`}},
		{
			name: "payload is exactly MaxPayloadSize", body: `{"topic":"a","payload":` + jsonString(apiTestMaxPayload) + `}`,
			content: []string{`"payload":"aaaa`},
		},
		{
			name:    "payload is stored compacted",
			body:    `{"topic":"a","payload":{ "n" :  1,` + strings.Repeat(" ", apiTestMaxPayload) + `"m": [ 2 ] }}`,
			content: []string{`"payload":{"n":1,"m":[2]}`},
		},
		{
			name: "run_at with the largest offsets", body: `{"topic":"a","run_at":"2030-01-02T03:04:05+23:59"}`,
			content: []string{`"run_at":"2030-01-01T03:05:05Z"`},
		},
		{
			name: "run_at in PocketBase's form with an offset", body: `{"topic":"a","run_at":"2030-01-02 03:04:05.5-23:59"}`,
			content: []string{`"run_at":"2030-01-03T03:03:05.5Z"`},
		},
		{
			name: "run_at with a lower-case t and z", body: `{"topic":"a","run_at":"2030-01-02t03:04:05z"}`,
			content: []string{`"run_at":"2030-01-02T03:04:05Z"`},
		},
		{
			name: "media type in capitals", body: `{"topic":"a"}`,
			headers: map[string]string{"Content-Type": "Application/JSON"}, content: []string{`"topic":"a"`},
		},
		{
			name: "media type with a charset", body: `{"topic":"a"}`,
			headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}, content: []string{`"topic":"a"`},
		},
	}
	for _, c := range cases {
		c.method, c.url, c.auth = http.MethodPost, "/api/jobs/enqueue", asSuperuser
		c.status, c.check = 200, expectTotal(4)
		c.run(t, newAPIFixture(t, apiConfig()))
	}
}

// TestAPIDuplicateEnqueue: an enqueue of a unique key an in-flight job of
// the topic holds answers 200 with that job, marked duplicate, and stores
// nothing; "duplicate" is left out of other jobs.
func TestAPIDuplicateEnqueue(t *testing.T) {
	f := newAPIFixture(t, apiConfig())
	first, err := GetJobStore(f.app).EnqueueWithOptions("a", nil, &JobEnqueueOptions{UniqueKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	apiCase{
		method: http.MethodPost, url: "/api/jobs/enqueue", auth: asSuperuser,
		body: `{"topic":"a","unique_key":"k"}`, status: 200,
		content: []string{`"id":"` + first.ID + `"`, `"unique_key":"k"`, `"duplicate":true`},
		check:   expectTotal(4),
	}.run(t, f)
	encoded, err := json.Marshal(first)
	if err != nil || strings.Contains(string(encoded), "duplicate") {
		t.Fatalf("a job stored anew encodes as %s, %v: want no duplicate member", encoded, err)
	}
}

// TestAPIListFilter checks the accepted list filters.
func TestAPIListFilter(t *testing.T) {
	cases := []apiCase{
		{name: "no filter", url: "/api/jobs", content: []string{`"total":3,"limit":20,"offset":0`}},
		{name: "limit 0 is the default", url: "/api/jobs?limit=0", content: []string{`"total":3,"limit":20,"offset":0`}},
		{name: "limit is MaxListLimit", url: "/api/jobs?limit=500", content: []string{`"total":3,"limit":500,"offset":0`}},
		{name: "offset", url: "/api/jobs?limit=1&offset=2", content: []string{`"total":3,"limit":1,"offset":2`}},
		{name: "topic", url: "/api/jobs?topic=done", content: []string{`"items":[{"id":"{completed}"`, `"total":1`}},
		{name: "status", url: "/api/jobs?status=pending", content: []string{`"items":[{"id":"{pending}"`, `"total":1`}},
		{name: "unknown topic", url: "/api/jobs?topic=nope", content: []string{`{"items":[],"total":0,"limit":20,"offset":0}`}},
	}
	f := newAPIFixture(t, apiConfig())
	for _, c := range cases {
		c.method, c.auth, c.status = http.MethodGet, asSuperuser, 200
		c.run(t, f)
	}
}

// TestAPIDeleteFailed checks that a failed job can be deleted.
func TestAPIDeleteFailed(t *testing.T) {
	apiCase{
		name: "delete a failed job", method: http.MethodDelete, url: "/api/jobs/{failed}", auth: asSuperuser,
		status: 204, check: expectTotal(2),
	}.run(t, newAPIFixture(t, apiConfig()))
}

// TestUnknownMembersListed checks that a refusal lists at most
// maxUnknownMembersListed unknown members, the first ones by name, so that
// a body of many tiny members cannot make a response many times its size.
func TestUnknownMembersListed(t *testing.T) {
	body := `{"topic":"a"`
	for i := range 1000 {
		body += fmt.Sprintf(`,"m%03d":0`, i)
	}
	_, err := decodeEnqueueRequest([]byte(body + `}`))
	var fields validation.Errors
	if !errors.As(err, &fields) || !errors.Is(err, errInvalidBody) {
		t.Fatalf("decode: %v, want errInvalidBody with member errors", err)
	}
	if len(fields) != maxUnknownMembersListed {
		t.Errorf("%d members listed, want %d: %v", len(fields), maxUnknownMembersListed, fields)
	}
	for i := range maxUnknownMembersListed {
		name := fmt.Sprintf("m%03d", i)
		if err, ok := fields[name].(validation.Error); !ok || err.Code() != "validation_unknown_member" {
			t.Errorf("member %s: %v, want validation_unknown_member", name, fields[name])
		}
	}
}
