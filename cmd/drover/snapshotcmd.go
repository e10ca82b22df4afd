package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

const snapshotUsage = `usage: drover snapshot save FILE
       drover snapshot restore FILE
common flags: --addr host:port[,host:port...] (or $DROVER_ADDR), --token T (or $DROVER_ADMIN_TOKEN)
`

// runSnapshot runs `drover snapshot save|restore FILE`.
func runSnapshot(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "save" && args[0] != "restore") {
		fmt.Fprint(stderr, snapshotUsage)
		return exitUsage
	}
	verb := args[0]
	fs := flag.NewFlagSet("drover snapshot "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return cliFail(stderr, "snapshot "+verb, err)
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, snapshotUsage)
		return exitUsage
	}
	ctx := context.Background()
	if verb == "save" {
		n, err := snapshotSave(ctx, cf.client(), pos[0])
		if err != nil {
			return cliFail(stderr, "snapshot save", err)
		}
		fmt.Fprintf(stdout, "snapshot saved to %s (%d bytes)\n", pos[0], n)
		return exitOK
	}
	body, err := cf.client().call(ctx, request{
		method: http.MethodPost, path: "/v1/snapshot", ctype: "application/octet-stream",
		body: func() (io.Reader, error) { return os.Open(pos[0]) },
	})
	if err != nil {
		return cliFail(stderr, "snapshot restore", err)
	}
	printJSON(stdout, body)
	return exitOK
}

// snapshotSave streams GET /v1/snapshot into a temporary file next to path,
// syncs it and renames it into place, so path is never left half written.
func snapshotSave(ctx context.Context, c *apiClient, path string) (int64, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/snapshot"})
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, errors.New(readError(resp))
	}
	defer resp.Body.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(tmp, resp.Body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, err
	}
	return n, nil
}
