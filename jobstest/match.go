package jobstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
)

// encodeWant encodes the payload a test expects as JSON: a json.RawMessage
// or []byte as it is (it must be valid JSON), any other value as
// encoding/json encodes it.
func encodeWant(want any) ([]byte, error) {
	var data []byte
	switch w := want.(type) {
	case json.RawMessage:
		data = w
	case []byte:
		data = w
	default:
		var err error
		if data, err = json.Marshal(want); err != nil {
			return nil, fmt.Errorf("encode the expected payload: %w", err)
		}
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("the expected payload is not valid JSON: %s", data)
	}
	return data, nil
}

// decodeJSON decodes JSON into maps, slices and json.Numbers.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// mismatch returns "" when got has everything want has, or else says where
// it differs first. An object matches when each of want's members matches
// got's member of the same name (got may have more); an array, when it has
// as many elements as want's and each matches; a number, when it is the
// same number (1 and 1.0 are); anything else, when it is equal. path names
// the value in the message ("" for the whole payload).
func mismatch(want, got any, path string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s is %s, want an object", describe(path), show(got))
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			member := path + "." + k
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("no member %s", describe(member))
			}
			if m := mismatch(w[k], gv, member); m != "" {
				return m
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s is %s, want %s", describe(path), show(got), show(want))
		}
		for i := range w {
			if m := mismatch(w[i], g[i], path+"["+strconv.Itoa(i)+"]"); m != "" {
				return m
			}
		}
		return ""
	case json.Number:
		if g, ok := got.(json.Number); ok && sameNumber(w, g) {
			return ""
		}
	default:
		if want == got {
			return ""
		}
	}
	return fmt.Sprintf("%s is %s, want %s", describe(path), show(got), show(want))
}

// sameNumber tells whether two JSON numbers are the same number.
func sameNumber(a, b json.Number) bool {
	x, okX := new(big.Float).SetString(a.String())
	y, okY := new(big.Float).SetString(b.String())
	return okX && okY && x.Cmp(y) == 0
}

// describe names the value at path in a message.
func describe(path string) string {
	if path == "" {
		return "the payload"
	}
	if path[0] == '.' {
		return path[1:]
	}
	return "the payload" + path
}

// show writes v as compact JSON.
func show(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
