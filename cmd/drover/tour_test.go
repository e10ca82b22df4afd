package main

import (
	"bufio"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReadmeTour runs every shell line of README.md's "A short tour", in
// order, against `drover dev`, as a newcomer pastes them after exporting
// what the banner printed: each must exit 0. The one placeholder the README
// asks the reader to fill in, <PID> (the leader's, from the table), is
// filled in from the banner; any other <…> is a README that cannot run as
// written.
func TestReadmeTour(t *testing.T) {
	skipShort(t)
	lines := readmeTour(t, "../../README.md")
	if len(lines) < 20 {
		t.Fatalf("found %d tour lines in README.md; the tour section or its sh blocks moved", len(lines))
	}
	d := startDev(t)
	placeholder := regexp.MustCompile(`<[A-Za-z][A-Za-z ]*>`)
	for _, line := range lines {
		line = strings.ReplaceAll(line, "<PID>", strconv.Itoa(d.leaderPID))
		if p := placeholder.FindString(line); p != "" {
			t.Fatalf("README tour line %q has the placeholder %s: it cannot run as written", line, p)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		start := time.Now()
		out, err := d.sh(ctx, line)
		cancel()
		if err != nil {
			t.Fatalf("README tour line failed (%v after %v):\n$ %s\n%s", err, time.Since(start).Round(time.Millisecond), line, out)
		}
		t.Logf("$ %s   (%v)\n%s", line, time.Since(start).Round(time.Millisecond), tailString(out, 600))
	}
	// The tour left the demo alone: it still routes (the leader was killed on the way).
	var routed bool
	for _, a := range d.addrs {
		out, err := d.sh(context.Background(), `curl -sf -X POST http://`+a+`/route/ -d '{"endpoint":"demo","api_key":"'"$DROVER_API_KEY"'","cost":100}'`)
		if err == nil && strings.Contains(out, `"url"`) {
			routed = true
			break
		}
	}
	if !routed {
		t.Errorf("after the tour no node routes the demo endpoint to a worker")
	}
}

// readmeTour returns the commands of the ```sh blocks between "## A short
// tour" and the next "## " heading: one per line, with backslash
// continuations joined, comment-only and blank lines dropped.
func readmeTour(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	var inTour, inSh bool
	var cont string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			inTour = line == "## A short tour"
		case !inTour:
		case strings.HasPrefix(line, "```"):
			inSh = !inSh && strings.TrimPrefix(line, "```") == "sh"
		case inSh:
			line = cont + line
			if strings.HasSuffix(line, `\`) {
				cont = strings.TrimSuffix(line, `\`)
				continue
			}
			cont = ""
			if s := strings.TrimSpace(line); s != "" && !strings.HasPrefix(s, "#") {
				out = append(out, s)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
