// Package faulttest proves that the jobs plugin loses no job when the process
// that runs it is killed, shut down, flooded with requests, or crashed by its
// own jobs, and that no cancelled job or job of a paused topic runs again
// through such deaths.
//
// The tests build the PocketBase app in ./worker, run it as real processes on
// loopback ports, and kill, stop and restart them. Each handler run is
// appended to an execution log that survives the process, and the job table
// is read back directly (read-only), so the tests see exactly what ran and
// what the database says. Every test runs on SQLite, and on PostgreSQL when a
// server is at hand (see internal/pgtest). RELIABILITY.md at the root of the
// module lists the guarantees these tests prove and their latest figures.
package faulttest
