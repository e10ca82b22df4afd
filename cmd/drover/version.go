package main

import (
	"fmt"
	"io"
	"runtime"
)

// version is set at build time by make build:
// go build -ldflags "-X main.version=$(git describe --always --dirty)".
var version = "dev"

func runVersion(stdout io.Writer) int {
	fmt.Fprintf(stdout, "drover %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
