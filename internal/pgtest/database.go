package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// adminTimeout bounds each CREATE or DROP DATABASE round.
const adminTimeout = 30 * time.Second

// databases counts the databases this process created, for unique names.
var databases atomic.Int64

// createDatabase creates an empty database on the server of admin and
// returns its name. Names hold the process id, a counter and random bytes,
// so test binaries sharing one server never collide.
func createDatabase(t testing.TB, admin string) (string, error) {
	var salt [4]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return "", fmt.Errorf("name a test database: %w", err)
	}
	name := fmt.Sprintf("pbjobs_test_%d_%d_%s", os.Getpid(), databases.Add(1), hex.EncodeToString(salt[:]))
	err := onServer(admin, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+` TEMPLATE template0`)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create database for %s: %w", t.Name(), err)
	}
	return name, nil
}

// dropDatabase drops a test database, closing the connections still open.
func dropDatabase(admin, name string) error {
	err := onServer(admin, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// onServer runs fn on a short-lived connection to admin.
func onServer(admin string, fn func(ctx context.Context, conn *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return fn(ctx, conn)
}

// withDatabase returns dsn, a URL or a keyword/value string, naming the
// database name instead of its own.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse DSN: %w", err)
		}
		u.Path, u.RawPath = "/"+name, ""
		q := u.Query()
		if q.Has("dbname") {
			q.Set("dbname", name)
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// In a keyword/value string the last setting of a keyword wins.
	return strings.TrimSpace(dsn) + " dbname=" + name, nil
}
