package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// resource is one console API collection the CLI manages.
type resource struct {
	name string // CLI command
	path string // collection path, with the trailing slash
}

var (
	endpointResource = resource{name: "endpoint", path: "/api/v0/endptjobs/"}
	groupResource    = resource{name: "group", path: "/api/v0/workergroups/"}
)

const objectsUsage = `usage: drover %[1]s create [--set key=value]... [--json '{...}']
       drover %[1]s list [--stale]
       drover %[1]s get ID [--stale] [--field NAME]
       drover %[1]s update ID [--set key=value]... [--json '{...}'] [--if-revision N]
       drover %[1]s delete ID
common flags: --addr host:port[,host:port...] (or $DROVER_ADDR), --token T (or $DROVER_ADMIN_TOKEN)
`

// runObjects runs `drover endpoint|group <verb> ...`.
func runObjects(res resource, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, objectsUsage, res.name)
		return exitUsage
	}
	verb := args[0]
	cmd := res.name + " " + verb
	fs := flag.NewFlagSet("drover "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	var sets setList
	var jsonArg string
	var stale bool
	var ifRevision uint64
	var field string
	switch verb {
	case "create", "update":
		fs.Var(&sets, "set", "field to send, key=value (repeatable)")
		fs.StringVar(&jsonArg, "json", "", "JSON object of fields to send (--set pairs win)")
		if verb == "update" {
			fs.Uint64Var(&ifRevision, "if-revision", 0, "change only if the object's revision is still N (0: unconditional)")
		}
	case "list", "get":
		fs.BoolVar(&stale, "stale", false, "read the node's local replica instead of a consistent read")
		if verb == "get" {
			fs.StringVar(&field, "field", "", "print only this field of the object, bare (e.g. revision, api_key)")
		}
	case "delete":
	default:
		fmt.Fprintf(stderr, "drover %s: unknown verb %q\n"+objectsUsage, res.name, verb, res.name)
		return exitUsage
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return cliFail(stderr, cmd, err)
	}
	r, err := objectRequest(res, verb, pos, jsonArg, sets, stale, ifRevision)
	if err != nil {
		return cliFail(stderr, cmd, err)
	}
	body, err := cf.client().call(context.Background(), r)
	if err != nil {
		return cliFail(stderr, cmd, err)
	}
	if field != "" {
		v, err := resultField(body, field)
		if err != nil {
			return cliFail(stderr, cmd, err)
		}
		fmt.Fprintln(stdout, v)
		return exitOK
	}
	printJSON(stdout, body)
	return exitOK
}

// resultField returns one field of a console GET answer's result: strings
// bare, anything else as its JSON text.
func resultField(body []byte, field string) (string, error) {
	var ans struct {
		Result map[string]json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return "", err
	}
	raw, ok := ans.Result[field]
	if !ok {
		return "", fmt.Errorf("the answer has no field %q", field)
	}
	var str string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &str) == nil {
		return str, nil
	}
	return string(raw), nil
}

// objectRequest turns a verb and its arguments into the HTTP request.
func objectRequest(res resource, verb string, pos []string, jsonArg string, sets []string, stale bool, ifRevision uint64) (request, error) {
	wantArgs := 1
	if verb == "create" || verb == "list" {
		wantArgs = 0
	}
	if len(pos) != wantArgs {
		return request{}, usageErrorf("%s takes %d argument(s), got %d %q", verb, wantArgs, len(pos), pos)
	}
	item := ""
	if wantArgs == 1 {
		id, err := strconv.ParseUint(pos[0], 10, 64)
		if err != nil || id == 0 {
			return request{}, usageErrorf("ID %q: want a positive integer", pos[0])
		}
		item = strconv.FormatUint(id, 10) + "/"
	}
	q := url.Values{}
	if stale {
		q.Set("stale", "true")
	}
	if ifRevision != 0 {
		q.Set("if_revision", strconv.FormatUint(ifRevision, 10))
	}
	r := request{path: res.path + item}
	if len(q) > 0 {
		r.path += "?" + q.Encode()
	}
	switch verb {
	case "create", "update":
		b, err := buildBody(jsonArg, sets)
		if err != nil {
			return request{}, err
		}
		r.method, r.body = http.MethodPost, jsonBody(b)
		if verb == "update" {
			r.method = http.MethodPut
		}
	case "delete":
		r.method = http.MethodDelete
	default:
		r.method = http.MethodGet
	}
	return r, nil
}
