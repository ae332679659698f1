package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestEncodePayload checks the exact JSON stored for each kind of payload.
func TestEncodePayload(t *testing.T) {
	type pair struct {
		Lower int `json:"name"`
		Upper int `json:"NAME"`
	}
	cases := []struct {
		name    string
		payload any
		want    string // "" when refused
	}{
		{"nil", nil, `null`},
		{"nil raw message", json.RawMessage(nil), `null`},
		{"nil bytes", []byte(nil), `null`},
		{"raw message, compacted", json.RawMessage(" {\n\t\"a\" : [ 1 , 2 ] } "), `{"a":[1,2]}`},
		{"raw HTML characters kept", json.RawMessage(`"<b>&amp;</b>"`), `"<b>&amp;</b>"`},
		{"raw line separator kept", json.RawMessage("\"\u2028\""), "\"\u2028\""},
		{"raw escapes kept", json.RawMessage(`"\u003c\u0000\ud800\/"`), `"\u003c\u0000\ud800\/"`},
		{"value, HTML characters not escaped", map[string]string{"h": "<b>&</b>"}, `{"h":"<b>&</b>"}`},
		{"value holding raw JSON", map[string]any{"raw": json.RawMessage(`[ "&" ]`)}, `{"raw":["&"]}`},
		// encoding/json replaces the bad byte with U+FFFD: escaped before
		// Go 1.27, as is from then on.
		{"value with text that is not UTF-8, made valid", "caf\xe9", mustMarshal("caf\xe9")},
		{"empty raw message", json.RawMessage{}, ""},
		{"raw message that is not JSON", json.RawMessage(`{"a":`), ""},
		{"raw message with trailing data", json.RawMessage(`{} {}`), ""},
		{"raw message that is not UTF-8", json.RawMessage("\"\xc3\""), ""},
		{"value holding raw JSON that is not UTF-8", []any{json.RawMessage("\"\xff\"")}, ""},
		{"value that cannot be encoded", func() {}, ""},
		{"struct whose fields differ in case", pair{}, ""},
	}
	for _, c := range cases {
		got, err := encodePayload(c.payload)
		switch {
		case c.want == "" && !errors.Is(err, ErrInvalidPayload):
			t.Errorf("%s: encoded %q (error %v), want ErrInvalidPayload", c.name, got, err)
		case c.want != "" && (err != nil || string(got) != c.want):
			t.Errorf("%s: encoded %q (error %v), want %q", c.name, got, err, c.want)
		}
	}
}

// TestAmbiguousKeys checks which objects hold keys encoding/json may take
// for one another, and that the two keys are named.
func TestAmbiguousKeys(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprintf(`"key%d":%d`, i, i)
	}
	large := `{` + strings.Join(many, ",") + `}`
	cases := []struct {
		json string
		a, b string // the keys found, "" when none
	}{
		{`{"user_id":"a","USER_ID":"b"}`, `user_id`, `USER_ID`},
		{`{"a":1,"a":2}`, `a`, `a`},
		{`{"user\u005fid":1,"user_id":2}`, `user\u005fid`, `user_id`},
		{`{"\u0041":1,"a":2}`, `\u0041`, `a`},
		{`{"k":1,"\u212a":2}`, `k`, `\u212a`},               // KELVIN SIGN
		{`{"s":1,"ſ":2}`, `s`, `ſ`},                         // LATIN SMALL LETTER LONG S
		{`{"Σ":1,"ς":2}`, `Σ`, `ς`},                         // final sigma
		{`{"ǅ":1,"ǆ":2}`, `ǅ`, `ǆ`},                         // title case
		{`{"😀":1,"\ud83d\ude00":2}`, `😀`, `\ud83d\ude00`},   // a surrogate pair
		{`{"\ud800":1,"\udc00":2}`, `\ud800`, `\udc00`},     // lone surrogates both decode to U+FFFD
		{`{"\ud800":1,"\ufffd":2}`, `\ud800`, `\ufffd`},     // ... as does U+FFFD itself
		{`{"\ud800\u0041":1,"�a":2}`, `\ud800\u0041`, `�a`}, // a high surrogate without its low half
		{`{"\"":1,"\u0022":2}`, `\"`, `\u0022`},             // escaped quotes
		{`{"\/":1,"/":2}`, `\/`, `/`},
		{`{"\n\t":1,"\u000a\u0009":2}`, `\n\t`, `\u000a\u0009`},
		{`[1,{"x":[{"deep":{"Go":1,"gO":2}}]}]`, `Go`, `gO`},
		{`{"a":{"b":1},"B":{"a":1},"b":2}`, `B`, `b`},
		{large[:len(large)-1] + `,"KEY39":0}`, `key39`, `KEY39`},
		{`{"a":1,"b":2}`, ``, ``},
		{`{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}`, ``, ``},
		{`{"a":"A","A1":"a"}`, ``, ``},
		{`{"k":"}{\"K\":","K1":"\\"}`, ``, ``},
		{`{"i":1,"İ":2,"ı":3}`, ``, ``}, // dotted and dotless i fold to no ASCII letter
		{`{"ss":1,"ß":2}`, ``, ``},      // no multi-rune folding
		{`{"\ud83d\ude00":1,"\ud83d\ude01":2}`, ``, ``},
		{`{"a\\":1,"A\\u":2}`, ``, ``},
		{large, ``, ``},
		{`["a","A",{"a":{}},{"A":[]}]`, ``, ``},
		{`"{\"a\":1,\"A\":2}"`, ``, ``},
		{`{}`, ``, ``},
		{`null`, ``, ``},
	}
	for _, c := range cases {
		if !json.Valid([]byte(c.json)) {
			t.Fatalf("%s is not JSON", c.json)
		}
		a, b, found := ambiguousKeys([]byte(c.json))
		if found != (c.a != "") || string(a) != c.a || string(b) != c.b {
			t.Errorf("%s: found %v, keys %q and %q; want %q and %q", c.json, found, a, b, c.a, c.b)
		}
		if reference := referenceAmbiguousKeys(t, []byte(c.json)); reference != found {
			t.Errorf("%s: found %v, the reference %v", c.json, found, reference)
		}
	}
}

// TestCheckPayloadQuotesLongKeysShort checks that the error about a long
// key quotes only its start.
func TestCheckPayloadQuotesLongKeysShort(t *testing.T) {
	key := strings.Repeat("é", maxQuotedKey)
	err := checkPayload([]byte(`{"` + key + `":1,"` + strings.ToUpper(key) + `":2}`))
	expectErr(t, err, ErrInvalidPayload)
	if want := `"` + key[:maxQuotedKey] + `…"`; !strings.Contains(err.Error(), want) || len(err.Error()) > 4*maxQuotedKey {
		t.Errorf("error %q, want it to quote %q", err, want)
	}
}

// FuzzAmbiguousKeys compares ambiguousKeys with referenceAmbiguousKeys on
// valid JSON, and checks that the keys it names are such a pair.
func FuzzAmbiguousKeys(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"a","USER_ID":"b"}`, `{"a":1,"b":{"c":[{"C":1}],"B":2}}`, `{"user\u005fid":1,"user_id":2}`,
		`{"\ud800":1,"\udc00\u0041":2}`, `{"k":1,"\u212a":2}`, `["{\"a\":1,\"A\":2}"]`, `{"\\":1,"\"":2}`, `12`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		a, b, found := ambiguousKeys(data)
		if reference := referenceAmbiguousKeys(t, data); found != reference {
			t.Fatalf("%q: found %v, the reference %v", data, found, reference)
		}
		if !found {
			return
		}
		var keyA, keyB string
		if json.Unmarshal([]byte(`"`+string(a)+`"`), &keyA) != nil || json.Unmarshal([]byte(`"`+string(b)+`"`), &keyB) != nil {
			t.Fatalf("%q: the keys %q and %q are not JSON strings", data, a, b)
		}
		if !strings.EqualFold(keyA, keyB) {
			t.Fatalf("%q: the keys %q and %q are not equal under case folding", data, keyA, keyB)
		}
	})
}

// referenceAmbiguousKeys is ambiguousKeys written the slow, obvious way:
// the keys of every object as encoding/json decodes them, compared pairwise
// with strings.EqualFold.
func referenceAmbiguousKeys(t testing.TB, data []byte) bool {
	t.Helper()
	type container struct {
		object bool
		tokens int // read so far inside it: in an object, keys are the even ones
		keys   []string
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var open []*container
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		if tok == json.Delim('}') || tok == json.Delim(']') {
			keys := open[len(open)-1].keys
			for i := range keys {
				for j := range i {
					if strings.EqualFold(keys[i], keys[j]) {
						return true
					}
				}
			}
			open = open[:len(open)-1]
			continue
		}
		if len(open) > 0 {
			top := open[len(open)-1]
			if top.object && top.tokens%2 == 0 {
				top.keys = append(top.keys, tok.(string))
			}
			top.tokens++
		}
		if tok == json.Delim('{') || tok == json.Delim('[') {
			open = append(open, &container{object: tok == json.Delim('{')})
		}
	}
}

// benchmarkPayloads are payloads of a few sizes and shapes.
func benchmarkPayloads() map[string][]byte {
	user := func(i int) map[string]any {
		return map[string]any{
			"user_id": fmt.Sprintf("u%014d", i), "email": fmt.Sprintf("user%d@example.com", i),
			"name": "Zoë O'Brien <zoe@example.com>", "tags": []string{"a&b", "news", "weekly"},
			"settings": map[string]any{"digest": true, "hour": 7, "zone": "Europe/Zürich"},
		}
	}
	encode := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return b
	}
	one := map[string]any{}
	for i := 0; len(encode(one)) < 1<<20; i++ {
		one[fmt.Sprintf("key_%06d", i)] = strings.Repeat("x", 40)
	}
	var users []any
	for len(encode(users)) < 1<<20 {
		users = append(users, user(len(users)))
	}
	return map[string][]byte{
		"1KiB":                    encode([]any{user(1), user(2), user(3), user(4)}),
		"1MiB of small objects":   encode(users),
		"1MiB object of 20k keys": encode(one),
		"1MiB string":             encode(strings.Repeat("long text\n", 1<<20/11)),
	}
}

// BenchmarkEncodePayload measures what an enqueue spends on its payload:
// compacting and checking raw JSON as sent to the HTTP API, and (for
// comparison) the scan for ambiguous keys alone.
func BenchmarkEncodePayload(b *testing.B) {
	for name, payload := range benchmarkPayloads() {
		raw := json.RawMessage(payload)
		b.Run("encode "+name, func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodePayload(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("ambiguous keys "+name, func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, found := ambiguousKeys(payload); found {
					b.Fatal("found ambiguous keys")
				}
			}
		})
	}
}

// mustMarshal returns what encoding/json writes for v.
func mustMarshal(v any) string {
	encoded, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(encoded)
}
