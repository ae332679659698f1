package jobs

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readmeHeading is one section heading of a README: its level (2 for
// "##") and its anchor.
type readmeHeading struct {
	level  int
	anchor string
}

// anchorTag is the explicit anchor README.zh-CN.md puts on the line before
// each heading: the English heading's anchor, so that links work alike in
// both files.
var anchorTag = regexp.MustCompile(`^<a id="([^"]+)"></a>$`)

// githubAnchor returns the anchor GitHub gives a heading's text: lower
// case, punctuation dropped, spaces turned into hyphens.
func githubAnchor(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 0x7f:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// readmeHeadings returns the "##" and "###" headings of the Markdown file
// at path, outside code blocks. For the English README (explicit false) a
// heading's anchor is GitHub's, made unique as GitHub does; for the Chinese
// one it is the anchor tag on the line before it, which must be there.
func readmeHeadings(t *testing.T, path string, explicit bool) []readmeHeading {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	var (
		headings []readmeHeading
		inCode   bool
		previous string
		seen     = map[string]int{}
	)
	scanner := bufio.NewScanner(f)
	for line := 1; scanner.Scan(); line++ {
		text := scanner.Text()
		if strings.HasPrefix(text, "```") {
			inCode = !inCode
		}
		level := 0
		switch {
		case inCode:
		case strings.HasPrefix(text, "## "):
			level = 2
		case strings.HasPrefix(text, "### "):
			level = 3
		}
		if level > 0 {
			h := readmeHeading{level: level}
			if explicit {
				m := anchorTag.FindStringSubmatch(previous)
				if m == nil {
					t.Errorf("%s:%d: heading %q has no <a id=\"...\"></a> line before it", path, line, text)
					continue
				}
				h.anchor = m[1]
			} else {
				h.anchor = githubAnchor(strings.TrimLeft(text, "# "))
				if n := seen[h.anchor]; n > 0 {
					seen[h.anchor]++
					h.anchor += "-" + strconv.Itoa(n)
				} else {
					seen[h.anchor] = 1
				}
			}
			headings = append(headings, h)
		}
		if strings.TrimSpace(text) != "" {
			previous = text
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return headings
}

// TestReadmesAreInStep: README.zh-CN.md has a counterpart of every section
// of README.md, in the same order and at the same level, each carrying the
// English section's anchor.
func TestReadmesAreInStep(t *testing.T) {
	english := readmeHeadings(t, "README.md", false)
	chinese := readmeHeadings(t, "README.zh-CN.md", true)
	for i := range max(len(english), len(chinese)) {
		switch {
		case i >= len(chinese):
			t.Fatalf("README.zh-CN.md has no counterpart of section %q (level %d) and those after it", english[i].anchor, english[i].level)
		case i >= len(english):
			t.Fatalf("README.zh-CN.md has section %q past the end of README.md", chinese[i].anchor)
		case english[i] != chinese[i]:
			t.Fatalf("section %d: README.md has %q (level %d), README.zh-CN.md %q (level %d)",
				i+1, english[i].anchor, english[i].level, chinese[i].anchor, chinese[i].level)
		}
	}
}

// readmeLink is a link to a section of the same file.
var readmeLink = regexp.MustCompile(`\]\(#([^)]+)\)`)

// TestReadmeLinksResolve: every link of either README to a section of its
// own file names a section it has.
func TestReadmeLinksResolve(t *testing.T) {
	for _, file := range []struct {
		path     string
		explicit bool
	}{{"README.md", false}, {"README.zh-CN.md", true}} {
		anchors := map[string]bool{}
		for _, h := range readmeHeadings(t, file.path, file.explicit) {
			anchors[h.anchor] = true
		}
		content, err := os.ReadFile(file.path)
		if err != nil {
			t.Fatalf("read %s: %v", file.path, err)
		}
		for _, m := range readmeLink.FindAllStringSubmatch(string(content), -1) {
			if !anchors[m[1]] {
				t.Errorf("%s links to #%s, which none of its sections is", file.path, m[1])
			}
		}
	}
}
