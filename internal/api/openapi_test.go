package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// apiDoc is the served OpenAPI document, decoded loosely.
type apiDoc map[string]any

func loadDoc(t *testing.T) apiDoc {
	t.Helper()
	var d apiDoc
	if err := json.Unmarshal(openAPIDocument, &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if d["openapi"] != "3.0.3" {
		t.Fatalf("openapi version %v", d["openapi"])
	}
	return d
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

// operations is the document's "METHOD /path" set, with each operation.
func (d apiDoc) operations() map[string]map[string]any {
	out := map[string]map[string]any{}
	for path, item := range obj(d["paths"]) {
		for method, op := range obj(item) {
			switch method {
			case "get", "post", "put", "patch", "delete":
				out[strings.ToUpper(method)+" "+path] = obj(op)
			}
		}
	}
	return out
}

// docPath writes a route pattern as the document does: {name...} is {name}.
func docPath(pattern string) string { return strings.ReplaceAll(pattern, "...}", "}") }

// TestOpenAPIMatchesRoutes: every route of the server is in the document
// and every operation of the document is a route, with the same path
// parameters; public routes declare no security.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	d := loadDoc(t)
	ops := d.operations()
	s := &Server{}
	routes := map[string]route{}
	for _, rt := range s.routes() {
		routes[rt.method+" "+docPath(rt.pattern)] = rt
	}
	wildcard := regexp.MustCompile(`\{([a-z_]+)\}`)
	for k, rt := range routes {
		op, ok := ops[k]
		if !ok {
			t.Errorf("route %s is not in openapi.json", k)
			continue
		}
		var want, got []string
		for _, m := range wildcard.FindAllStringSubmatch(docPath(rt.pattern), -1) {
			want = append(want, m[1])
		}
		for _, p := range asList(op["parameters"]) {
			if obj(p)["in"] == "path" {
				got = append(got, obj(p)["name"].(string))
			}
		}
		if !slices.Equal(got, want) && !(len(want) == 0 && got == nil) {
			t.Errorf("%s: path parameters %v in the document, %v in the route", k, got, want)
		}
		sec, declared := op["security"]
		if rt.scope == "" && (!declared || len(sec.([]any)) != 0) {
			t.Errorf("%s is public but the document asks for a key", k)
		}
		if rt.scope != "" && declared && len(sec.([]any)) == 0 {
			t.Errorf("%s needs the %s scope but the document says it is public", k, rt.scope)
		}
		_, hasBody := op["requestBody"]
		if hasBody != rt.body {
			t.Errorf("%s: request body in the document %v, in the route %v", k, hasBody, rt.body)
		}
	}
	for k := range ops {
		if _, ok := routes[k]; !ok {
			t.Errorf("openapi.json documents %s, which the server does not serve", k)
		}
	}
}

// sample is a request whose answer is checked against the document's
// schema for the operation and status.
type sample struct {
	op string // "METHOD /documented/path"
	rq request
}

// TestOpenAPIResponses sends, for every documented response of every
// operation, a request that gets it, and validates the answer against its
// schema; a documented response no sample gets fails the test.
func TestOpenAPIResponses(t *testing.T) {
	d := loadDoc(t)
	fake := newFakeRentals()
	ts := newTestServer(t, func(_ *Config, dp *Deps) { dp.Rentals = fake })
	admin, _ := ts.key(0, ScopeAdmin)
	read, _ := ts.key(0, ScopeRead)
	key1, _ := sshKey(t, 1)
	key2, fp2 := sshKey(t, 2)
	n := ts.net
	create := `{"requirement":{"cpu":{"count":1},"gpu":{"count":0},"hard_disk":{"capacity":0},"ram":{"capacity":1073741824}},"timeline":1,"ssh_keys":["` + key1 + `"]}`
	idem := map[string]string{IdempotencyHeader: "openapi-1"}
	samples := []sample{
		{"GET /healthz", request{path: "/healthz"}},
		{"GET /healthz", request{method: "DELETE", path: "/healthz"}},
		{"GET /openapi.json", request{path: "/openapi.json"}},
		{"GET /openapi.json", request{method: "POST", path: "/openapi.json", body: "{}"}},
		{"GET /v1/status", request{path: "/v1/status", token: read}},
		{"GET /v1/status", request{path: "/v1/status"}},
		{"GET /v1/miners", request{path: "/v1/miners", token: read}},
		{"GET /v1/miners", request{path: "/v1/miners?verified=perhaps", token: read}},
		{"GET /v1/miners/{hotkey}", request{path: "/v1/miners/" + n.big, token: read}},
		{"GET /v1/miners/{hotkey}", request{path: "/v1/miners/" + n.validator.SS58Address(), token: read}},
		{"GET /v1/miners/{hotkey}/history", request{path: "/v1/miners/" + n.big + "/history", token: read}},
		{"GET /v1/miners/{hotkey}/history", request{path: "/v1/miners/" + n.big + "/history?hours=1000", token: read}},
		{"GET /v1/gpus", request{path: "/v1/gpus", token: read}},
		{"GET /v1/gpus", request{path: "/v1/gpus", token: "cpk_bad"}},
		{"GET /v1/available", request{path: "/v1/available?gpu_type=H200", token: read}},
		{"GET /v1/available", request{path: "/v1/available?ram=x", token: read}},
		{"GET /v1/allocations", request{path: "/v1/allocations", token: read}},
		{"GET /v1/allocations", request{method: "PATCH", path: "/v1/allocations", token: read, body: "{}"}},
		{"GET /v1/rounds", request{path: "/v1/rounds?limit=3", token: read}},
		{"GET /v1/rounds", request{path: "/v1/rounds?limit=0", token: read}},
		{"GET /v1/weights", request{path: "/v1/weights", token: read}},
		{"GET /v1/weights", request{path: "/v1/weights", token: ""}},
		{"POST /v1/rentals", request{method: "POST", path: "/v1/rentals", token: admin, body: create, header: idem}},
		{"POST /v1/rentals", request{method: "POST", path: "/v1/rentals", token: admin, body: create}},
		{"GET /v1/rentals", request{path: "/v1/rentals", token: admin}},
		{"GET /v1/rentals", request{path: "/v1/rentals", token: read}},
		{"GET /v1/rentals/{id}", request{path: "/v1/rentals/r_1", token: admin}},
		{"GET /v1/rentals/{id}", request{path: "/v1/rentals/r_404", token: admin}},
		{"POST /v1/rentals/{id}/extend", request{method: "POST", path: "/v1/rentals/r_1/extend", token: admin, body: `{"days":1}`}},
		{"POST /v1/rentals/{id}/extend", request{method: "POST", path: "/v1/rentals/r_1/extend", token: admin, body: `{"days":0}`}},
		{"POST /v1/rentals/{id}/restart", request{method: "POST", path: "/v1/rentals/r_1/restart", token: admin}},
		{"POST /v1/rentals/{id}/restart", request{method: "POST", path: "/v1/rentals/r_404/restart", token: admin}},
		{"POST /v1/rentals/{id}/ssh-keys", request{method: "POST", path: "/v1/rentals/r_1/ssh-keys", token: admin, body: `{"key":"` + key2 + `"}`}},
		{"POST /v1/rentals/{id}/ssh-keys", request{method: "POST", path: "/v1/rentals/r_1/ssh-keys", token: admin, body: `{"key":""}`}},
		{"DELETE /v1/rentals/{id}/ssh-keys/{fingerprint}", request{method: "DELETE", path: "/v1/rentals/r_1/ssh-keys/" + url.PathEscape(fp2), token: admin}},
		{"DELETE /v1/rentals/{id}/ssh-keys/{fingerprint}", request{method: "DELETE", path: "/v1/rentals/r_1/ssh-keys/" + url.PathEscape(fp2), token: admin}},
		{"DELETE /v1/rentals/{id}", request{method: "DELETE", path: "/v1/rentals/r_1", token: admin}},
		{"DELETE /v1/rentals/{id}", request{method: "DELETE", path: "/v1/rentals/r_1", token: admin}},
	}
	ops := d.operations()
	covered := map[string]bool{}
	for _, sm := range samples {
		op, ok := ops[sm.op]
		if !ok {
			t.Errorf("sample for %s, which the document lacks", sm.op)
			continue
		}
		a := ts.do(sm.rq)
		responses := obj(op["responses"])
		status := fmt.Sprint(a.status)
		resp, ok := responses[status]
		if !ok {
			status = "default"
			resp = responses["default"]
		}
		if resp == nil {
			t.Errorf("%s %s: status %d is not documented: %s", sm.rq.method, sm.rq.path, a.status, a.body)
			continue
		}
		covered[sm.op+" "+status] = true
		content := obj(obj(resp)["content"])
		ct := strings.Split(a.header.Get("Content-Type"), ";")[0]
		media, ok := content[ct]
		if !ok {
			t.Errorf("%s %s: %d answered %s, the document says %v", sm.rq.method, sm.rq.path, a.status, ct, keys(content))
			continue
		}
		var body any
		if err := json.Unmarshal(a.body, &body); err != nil {
			t.Errorf("%s %s: %v", sm.rq.method, sm.rq.path, err)
			continue
		}
		for _, err := range d.validate(obj(media)["schema"], body, "body") {
			t.Errorf("%s %s (%d): %v", sm.rq.method, sm.rq.path, a.status, err)
		}
	}
	for k, op := range ops {
		for status := range obj(op["responses"]) {
			if !covered[k+" "+status] {
				t.Errorf("no sample gets the documented %s answer of %s", status, k)
			}
		}
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validate checks v against an OpenAPI 3.0 schema: $ref, allOf, nullable,
// type, format date-time, enum, properties, required, additionalProperties
// false and items, which is what the document uses.
func (d apiDoc) validate(schema any, v any, at string) []error {
	s := obj(schema)
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		target, ok := obj(obj(d["components"])["schemas"])[name]
		if !ok {
			return []error{fmt.Errorf("%s: unknown schema %s", at, ref)}
		}
		return d.validate(target, v, at)
	}
	if v == nil {
		if s["nullable"] == true || len(s) == 0 {
			return nil
		}
		if _, typed := s["type"]; typed || s["allOf"] != nil {
			return []error{fmt.Errorf("%s: null where the schema is not nullable", at)}
		}
		return nil
	}
	var errs []error
	for _, sub := range asList(s["allOf"]) {
		errs = append(errs, d.validate(sub, v, at)...)
	}
	if enum := asList(s["enum"]); enum != nil && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Errorf("%s: %v is not one of %v", at, v, enum))
	}
	switch s["type"] {
	case nil:
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return append(errs, fmt.Errorf("%s: %T, want an object", at, v))
		}
		props := obj(s["properties"])
		for _, r := range asList(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				errs = append(errs, fmt.Errorf("%s: %s is required", at, r))
			}
		}
		for k, val := range m {
			ps, ok := props[k]
			if !ok {
				if s["additionalProperties"] == false {
					errs = append(errs, fmt.Errorf("%s: %s is not in the schema", at, k))
				}
				continue
			}
			errs = append(errs, d.validate(ps, val, at+"."+k)...)
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			return append(errs, fmt.Errorf("%s: %T, want an array", at, v))
		}
		for i, e := range l {
			errs = append(errs, d.validate(s["items"], e, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return append(errs, fmt.Errorf("%s: %T, want a string", at, v))
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not an RFC 3339 time", at, str))
			} else if !strings.HasSuffix(str, "Z") {
				errs = append(errs, fmt.Errorf("%s: %q is not in UTC", at, str))
			}
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) {
			errs = append(errs, fmt.Errorf("%s: %v, want an integer", at, v))
		}
	case "number":
		if _, ok := v.(float64); !ok {
			errs = append(errs, fmt.Errorf("%s: %v, want a number", at, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			errs = append(errs, fmt.Errorf("%s: %v, want a boolean", at, v))
		}
	default:
		errs = append(errs, fmt.Errorf("%s: unknown type %v in the schema", at, s["type"]))
	}
	return errs
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestOpenAPISchemasResolve: every $ref points at a schema, and every
// schema is used.
func TestOpenAPISchemasResolve(t *testing.T) {
	d := loadDoc(t)
	schemas := obj(obj(d["components"])["schemas"])
	used := map[string]bool{}
	refs := regexp.MustCompile(`"\$ref":\s*"#/components/schemas/([A-Za-z]+)"`)
	for _, m := range refs.FindAllStringSubmatch(string(openAPIDocument), -1) {
		used[m[1]] = true
		if _, ok := schemas[m[1]]; !ok {
			t.Errorf("$ref to missing schema %s", m[1])
		}
	}
	for name := range schemas {
		if !used[name] {
			t.Errorf("schema %s is never used", name)
		}
	}
}
