package jobs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// encodePayload returns the JSON a job stores for payload: raw JSON (a
// json.RawMessage or []byte) compacted, any other value encoded, both
// without HTML escaping, so the JSON is stored (and its size counted) as the
// caller wrote it. It refuses with ErrInvalidPayload a value that cannot be
// encoded, raw bytes that are not JSON, and what checkPayload refuses.
func encodePayload(payload any) ([]byte, error) {
	encoded, err := marshalPayload(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	if err := checkPayload(encoded); err != nil {
		return nil, err
	}
	return encoded, nil
}

// marshalPayload returns the compact JSON of payload, without HTML escaping.
func marshalPayload(payload any) ([]byte, error) {
	switch raw := payload.(type) {
	case json.RawMessage:
		return compactJSON(raw)
	case []byte:
		return compactJSON(raw)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(payload); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// compactJSON validates raw JSON and removes its insignificant spaces. Nil
// raw JSON is null, as json.RawMessage encodes it.
func compactJSON(raw []byte) ([]byte, error) {
	if raw == nil {
		return []byte("null"), nil
	}
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkPayload refuses, with ErrInvalidPayload, valid JSON that is not
// valid UTF-8 (PostgreSQL refuses to store it, and SQLite would serve it
// back broken; Go's encoder writes only valid UTF-8, but raw JSON, and raw
// JSON inside a value, can hold anything) or that holds an object with two
// keys encoding/json may take for one another (see ambiguousKeys): a rule
// reading one of them and a handler reading the other would see two
// different payloads.
//
// Escapes are kept as they are: "\u0000" and lone surrogates such as
// "\ud800" are valid JSON that both databases store byte for byte.
func checkPayload(encoded []byte) error {
	if !utf8.Valid(encoded) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidPayload)
	}
	if a, b, found := ambiguousKeys(encoded); found {
		return fmt.Errorf("%w: an object holds the keys %s and %s, which a JSON decoder may take for one another",
			ErrInvalidPayload, quoteKey(a), quoteKey(b))
	}
	return nil
}

// maxQuotedKey is the most bytes of a key an error message quotes.
const maxQuotedKey = 64

// quoteKey returns the JSON text of a key, between quotes, shortened to
// maxQuotedKey bytes.
func quoteKey(raw []byte) string {
	if len(raw) <= maxQuotedKey {
		return `"` + string(raw) + `"`
	}
	cut := maxQuotedKey
	for cut > 0 && !utf8.RuneStart(raw[cut]) {
		cut--
	}
	return `"` + string(raw[:cut]) + `…"`
}

// ambiguousKeys looks in data, valid JSON, for an object (at any depth)
// holding two keys that are equal once decoded and folded as encoding/json
// matches a key to a struct field: escapes decoded (a lone surrogate as
// U+FFFD), then compared as strings.EqualFold does. It returns the JSON
// text of two such keys, without their quotes, in the order of data.
//
// It reads data once, keeping the folded keys of the objects open at each
// point; the keys of an object are compared when it closes.
func ambiguousKeys(data []byte) (a, b []byte, found bool) {
	if bytes.IndexByte(data, '{') < 0 {
		return nil, nil, false
	}
	// Room for the containers and keys of a small payload, so that scanning
	// one does not allocate.
	var (
		openArray   [16]int
		keysArray   [32]scannedKey
		foldedArray [512]byte
	)
	// open has an entry per array or object open at the current point,
	// outermost first: inArray, or the index in keys of the object's first
	// key. keys are the keys of the open objects, outermost object's first,
	// and folded their folded forms, back to back.
	open, keys, folded := openArray[:0], keysArray[:0], foldedArray[:0]
	expectKey := false // the next string is an object key
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			open = append(open, len(keys))
			expectKey = true
		case '[':
			open = append(open, inArray)
		case ',':
			expectKey = open[len(open)-1] != inArray
		case '"':
			end := stringEnd(data, i+1)
			if expectKey {
				foldStart := len(folded)
				folded = appendFoldedKey(folded, data[i+1:end])
				keys = append(keys, scannedKey{start: i + 1, end: end, foldStart: foldStart, foldEnd: len(folded)})
				expectKey = false
			}
			i = end
		case '}':
			first := open[len(open)-1]
			if x, y, found := equalKeys(folded, keys[first:]); found {
				return data[x.start:x.end], data[y.start:y.end], true
			}
			if first < len(keys) {
				folded = folded[:keys[first].foldStart]
				keys = keys[:first]
			}
			open = open[:len(open)-1]
		case ']':
			open = open[:len(open)-1]
		}
	}
	return nil, nil, false
}

// inArray marks an open array in the containers ambiguousKeys keeps.
const inArray = -1

// scannedKey is one key of an object: its JSON text is data[start:end] and
// its folded form folded[foldStart:foldEnd], in ambiguousKeys' terms.
type scannedKey struct {
	start, end         int
	foldStart, foldEnd int
}

// smallObject is the most keys an object may have for equalKeys to compare
// every pair rather than sort them.
const smallObject = 16

// equalKeys looks for two keys that fold alike among keys, the keys of one
// object (which it may reorder), and returns them in the order of the
// payload.
func equalKeys(folded []byte, keys []scannedKey) (x, y scannedKey, found bool) {
	fold := func(k scannedKey) []byte { return folded[k.foldStart:k.foldEnd] }
	if len(keys) > smallObject {
		slices.SortFunc(keys, func(k, l scannedKey) int { return bytes.Compare(fold(k), fold(l)) })
		for i := 1; i < len(keys); i++ {
			if bytes.Equal(fold(keys[i-1]), fold(keys[i])) {
				x, y = keys[i-1], keys[i]
				if x.start > y.start {
					x, y = y, x
				}
				return x, y, true
			}
		}
		return x, y, false
	}
	for i := 1; i < len(keys); i++ {
		for j := range i {
			if bytes.Equal(fold(keys[j]), fold(keys[i])) {
				return keys[j], keys[i], true
			}
		}
	}
	return x, y, false
}

// stringEnd returns the index of the quote that ends the JSON string whose
// text starts at data[i].
func stringEnd(data []byte, i int) int {
	quote := i + bytes.IndexByte(data[i:], '"')
	for {
		backslash := bytes.IndexByte(data[i:quote], '\\')
		if backslash < 0 {
			return quote
		}
		i += backslash + 2 // past the escaped byte (or the u of \uXXXX)
		if i > quote {
			// The quote was escaped: look for the next one.
			quote = i + bytes.IndexByte(data[i:], '"')
		}
	}
}

// appendFoldedKey appends to dst the key whose JSON text is raw, decoded as
// encoding/json decodes keys, with every rune folded by foldRune.
func appendFoldedKey(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		r, n := rune(raw[i]), 1
		switch {
		case r == '\\':
			r, n = unescape(raw[i:])
		case r >= utf8.RuneSelf:
			r, n = utf8.DecodeRune(raw[i:])
		}
		dst = utf8.AppendRune(dst, foldRune(r))
		i += n
	}
	return dst
}

// foldRune returns the smallest rune of r's orbit under simple case folding:
// two runes strings.EqualFold takes for one another fold to the same rune.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	smallest := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		smallest = min(smallest, f)
	}
	return smallest
}

// unescape decodes the escape sequence at the start of s, a JSON string's
// valid text, as encoding/json does: a surrogate pair of \u escapes is one
// rune, any other surrogate is U+FFFD. It returns the rune and the length of
// the sequence.
func unescape(s []byte) (rune, int) {
	switch s[1] {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r := hex4(s[2:6])
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if pair := utf16.DecodeRune(r, hex4(s[8:12])); pair != utf8.RuneError {
				return pair, 12
			}
		}
		return utf8.RuneError, 6
	default: // '"', '\\' and '/' stand for themselves
		return rune(s[1]), 2
	}
}

// hex4 decodes four hexadecimal digits.
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= 'a':
			c -= 'a' - 10
		case c >= 'A':
			c -= 'A' - 10
		default:
			c -= '0'
		}
		r = r<<4 | rune(c)
	}
	return r
}
