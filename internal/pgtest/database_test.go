package pgtest

import "testing"

func TestWithDatabase(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://u:p@db:5432/base?sslmode=disable", "postgres://u:p@db:5432/fresh?sslmode=disable"},
		{"postgresql://db/base?dbname=base", "postgresql://db/fresh?dbname=fresh"},
		{"postgres://db", "postgres://db/fresh"},
		{"host=db user=u dbname=base ", "host=db user=u dbname=base dbname=fresh"},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.dsn, "fresh")
		if err != nil {
			t.Fatalf("withDatabase(%q): %v", tt.dsn, err)
		}
		if got != tt.want {
			t.Errorf("withDatabase(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
	}
}
