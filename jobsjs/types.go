package jobsjs

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

// TypesFileName is the name of the TypeScript declarations of $jobs and
// onJobRun that Register writes beside jsvm's types.d.ts (in
// jsvm.Config.TypesDir, pb_data by default), for editors: a pb_hooks file
// references them with /// <reference path="../pb_data/jobs.d.ts" />.
const TypesFileName = "jobs.d.ts"

// typesFile is the content of TypesFileName.
//
//go:embed types.d.ts
var typesFile []byte

// writeTypes writes TypesFileName to dir, unless it holds it already.
func writeTypes(dir string) error {
	path := filepath.Join(dir, TypesFileName)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, typesFile) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("jobsjs: write %s: %w", TypesFileName, err)
	}
	if err := os.WriteFile(path, typesFile, 0o644); err != nil {
		return fmt.Errorf("jobsjs: write %s: %w", TypesFileName, err)
	}
	return nil
}
