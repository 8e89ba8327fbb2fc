package wire

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

const (
	testPEM    = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtest\n-----END PUBLIC KEY-----\n"
	testSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl renter@host"
)

// The expected hashes were computed with Python 3: hashlib.sha3_256 over
// str() of the values json.loads made of the body, for the fields named in
// required_hash_fields, in the declaration order of the original subnet's
// classes, as bittensor 6.9.3's Synapse.body_hash does.
func TestBodyHashCoveredFieldsPythonVectors(t *testing.T) {
	pemJSON, _ := json.Marshal(testPEM)
	tests := []struct {
		name    string
		syn     Synapse
		body    string
		wantStr string // str() of device_requirement, when checked
		want    string
	}{
		{"allocate with ssh key", &Allocate{},
			`{"timeline": 30, "device_requirement": {"cpu": {"count": 1}, "gpu": {"count": 1, "capacity": 24576, "type": "4090"}, "hard_disk": {"capacity": 10737418240}, "ram": {"capacity": 1073741824}}, "checking": false, "output": {}, "public_key": ` + string(pemJSON) + `, "docker_requirement": {"ssh_key": "` + testSSHKey + `"}, ` +
				`"required_hash_fields": ["timeline", "device_requirement", "checking", "public_key", "docker_requirement"]}`,
			"{'cpu': {'count': 1}, 'gpu': {'count': 1, 'capacity': 24576, 'type': '4090'}, 'hard_disk': {'capacity': 10737418240}, 'ram': {'capacity': 1073741824}}",
			"211aa3c88cf9a463c162380cbad3603961fcb5be76f44692f4bdc4f52f500e18"},
		{"allocate, list in another order", &Allocate{},
			`{"timeline": 30, "device_requirement": {"cpu": {"count": 1}, "gpu": {"count": 1, "capacity": 24576, "type": "4090"}, "hard_disk": {"capacity": 10737418240}, "ram": {"capacity": 1073741824}}, "checking": false, "public_key": ` + string(pemJSON) + `, "docker_requirement": {"ssh_key": "` + testSSHKey + `"}, ` +
				`"required_hash_fields": ["docker_requirement", "public_key", "checking", "device_requirement", "timeline", "no_such_field"]}`,
			"", "211aa3c88cf9a463c162380cbad3603961fcb5be76f44692f4bdc4f52f500e18"},
		{"allocate without docker_requirement", &Allocate{},
			`{"timeline": 30, "device_requirement": {"cpu": {"count": 1}, "gpu": {"count": 1, "capacity": 24576, "type": "4090"}, "hard_disk": {"capacity": 10737418240}, "ram": {"capacity": 1073741824}}, "checking": false, "public_key": ` + string(pemJSON) + `, ` +
				`"required_hash_fields": ["timeline", "device_requirement", "checking", "public_key"]}`,
			"", "5b607400b77d3c034308c3df26fd9ec87c9cc0f2a4f28c5b025955c4353ceedb"},
		{"python floats, quotes, a repeated key", &Allocate{},
			`{"timeline": 7, "device_requirement": {"gpu": {"capacity": 24576.0, "type": "it's \"4090\"", "extra": [1e3, -0, null, true, 0.1]}, "cpu": {"count": 2}, "cpu": {"count": 3}}, "checking": true, "public_key": "", ` +
				`"required_hash_fields": ["timeline", "device_requirement", "checking", "public_key"]}`,
			`{'gpu': {'capacity': 24576.0, 'type': 'it\'s "4090"', 'extra': [1000.0, 0, None, True, 0.1]}, 'cpu': {'count': 3}}`,
			"88a00b62df53a78a9f09d5c508197241cff372b234af749aa7e07dd9a27a5c69"},
		{"challenge", &Challenge{},
			`{"challenge_hash": "$BLAKE2$` + strings.Repeat("ab", 64) + `", "challenge_salt": "0011223344556677", "challenge_mode": "610", "challenge_chars": "abcdefghij", "challenge_mask": "?1?1?1?1?1?1?1", "challenge_difficulty": 7, "output": {}, ` +
				`"required_hash_fields": ["challenge_hash", "challenge_salt", "challenge_mode", "challenge_chars", "challenge_mask", "challenge_difficulty"]}`,
			"", "aa3410a1256316e489d623e5a31b560b5b45f7d27aaa68548195e12f71f22102"},
		{"challenge, difficulty as a float", &Challenge{},
			`{"challenge_hash": "$BLAKE2$` + strings.Repeat("ab", 64) + `", "challenge_salt": "0011223344556677", "challenge_mode": "610", "challenge_chars": "abcdefghij", "challenge_mask": "?1?1?1?1?1?1?1", "challenge_difficulty": 7.0, ` +
				`"required_hash_fields": ["challenge_hash", "challenge_salt", "challenge_mode", "challenge_chars", "challenge_mask", "challenge_difficulty"]}`,
			"", "aa3410a1256316e489d623e5a31b560b5b45f7d27aaa68548195e12f71f22102"},
		{"lease action: exchange_key, two keys", &Allocate{},
			`{"timeline": 0, "device_requirement": {}, "checking": true, "public_key": ` + string(pemJSON) + `, "docker_change": true, "docker_action": {"action": "exchange_key", "ssh_key": "` + testSSHKey + `\n` + strings.Replace(testSSHKey, "renter", "other", 1) + `", "key_type": ""}, ` +
				`"required_hash_fields": ["timeline", "device_requirement", "checking", "public_key", "docker_change", "docker_action"]}`,
			"", "f8c44cc7a0a243bfd6615dfe7863473dde79a0deb8169d9be7309c8b15374bc1"},
		{"lease action: keys in another order, an unknown key, names in another order", &Allocate{},
			`{"timeline": 9, "device_requirement": {}, "checking": true, "public_key": ` + string(pemJSON) + `, "docker_change": true, "docker_action": {"key_type": "", "action": "extend", "ssh_key": "", "x": [1e3, null]}, ` +
				`"required_hash_fields": ["docker_action", "docker_change", "timeline", "checking", "public_key"]}`,
			"", "c6763ead1d0beb92832faf241b65f3b39bef372188399d5504ae8b62353f0c42"},
		{"lease action fields named, not sent: the class defaults", &Allocate{},
			`{"timeline": 1, "checking": true, "public_key": "x", "required_hash_fields": ["docker_change", "docker_action"]}`,
			"", "7a2457261a50f483fe59dd4f195f337da5048471bffdc7900b4a1122079aa305"},
		{"seed era: no fields", &Allocate{}, `{"timeline": 30, "public_key": "x", "required_hash_fields": []}`, "", EmptyBodyHash},
		{"7.2 and later: no list", &Challenge{}, `{"challenge_hash": "x"}`, "", EmptyBodyHash},
		{"only unknown names", &Allocate{}, `{"timeline": 30, "required_hash_fields": ["name", "output"]}`, "", EmptyBodyHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			must(t, json.Unmarshal([]byte(tc.body), tc.syn))
			got, err := BodyHash(tc.syn)
			if err != nil || got != tc.want {
				t.Fatalf("BodyHash = %q, %v; want %q", got, err, tc.want)
			}
			if tc.wantStr != "" {
				s, err := PyJSON(tc.syn.(*Allocate).DeviceRequirement)
				if err != nil || s != tc.wantStr {
					t.Fatalf("str(device_requirement) = %s, %v\nwant %s", s, err, tc.wantStr)
				}
			}
		})
	}
}

// What this package's dendrite sends hashes as a bittensor 6.9.3 axon
// recomputes it from the body (the first vector above).
func TestCoveredAllocateMatchesPython(t *testing.T) {
	a := &Allocate{Timeline: 30, Checking: false, PublicKey: testPEM, DockerRequirement: &DockerRequirement{SSHKey: testSSHKey}}
	var r DeviceRequirement
	r.CPU.Count = 1
	r.GPU.Count, r.GPU.Capacity, r.GPU.Type = 1, 24576, "4090"
	r.HardDisk.Capacity, r.RAM.Capacity = 10737418240, 1073741824
	must(t, a.SetRequirement(r))
	a.RequiredHashFields = CoveredFields(a)
	if got := strings.Join(a.RequiredHashFields, ","); got != "timeline,device_requirement,checking,public_key,docker_requirement" {
		t.Fatalf("covered %s", got)
	}
	got, err := BodyHash(a)
	if err != nil || got != "211aa3c88cf9a463c162380cbad3603961fcb5be76f44692f4bdc4f52f500e18" {
		t.Fatalf("BodyHash = %q, %v", got, err)
	}
	// Through the wire and back: the receiver's hash is the sender's.
	body, err := json.Marshal(a)
	must(t, err)
	var back Allocate
	must(t, json.Unmarshal(body, &back))
	if again, _ := BodyHash(&back); again != got {
		t.Fatalf("decoded body hashes to %s", again)
	}
	a.DockerRequirement = nil
	if got := strings.Join(CoveredFields(a), ","); got != "timeline,device_requirement,checking,public_key" {
		t.Fatalf("covered without a docker requirement: %s", got)
	}
	if CoveredFields(&Specs{}) != nil || CoveredFields(&Ping{}) != nil {
		t.Fatal("specs and ping are sent unhashed")
	}
}

// A lease action as this package's dendrite sends it hashes as a Python
// axon recomputes it (the lease action vector above), and the receiver's hash
// of the decoded body is the sender's.
func TestCoveredLeaseActionMatchesPython(t *testing.T) {
	keys := testSSHKey + "\n" + strings.Replace(testSSHKey, "renter", "other", 1)
	a := &Allocate{Timeline: 0, Checking: true, PublicKey: testPEM, DockerChange: true, DockerAction: &DockerAction{Action: ActionExchangeKey, SSHKey: keys}}
	a.RequiredHashFields = CoveredFields(a)
	if got := strings.Join(a.RequiredHashFields, ","); got != "timeline,device_requirement,checking,public_key,docker_change,docker_action" {
		t.Fatalf("covered %s", got)
	}
	got, err := BodyHash(a)
	if err != nil || got != "f8c44cc7a0a243bfd6615dfe7863473dde79a0deb8169d9be7309c8b15374bc1" {
		t.Fatalf("BodyHash = %q, %v", got, err)
	}
	body, err := json.Marshal(a)
	must(t, err)
	var back Allocate
	must(t, json.Unmarshal(body, &back))
	if again, _ := BodyHash(&back); again != got {
		t.Fatalf("decoded body hashes to %s", again)
	}
	act, ok := back.LeaseAction()
	if !ok || act.Action != ActionExchangeKey || act.SSHKey != keys || !back.Checking {
		t.Fatalf("decoded action %+v, %v", act, ok)
	}
	// The bytes as sent are what the receiver hashes, whatever their order.
	reordered := strings.Replace(string(body), `"docker_action":{"action":"exchange_key",`, `"docker_action":{"key_type":"","action":"exchange_key",`, 1)
	reordered = strings.Replace(reordered, `,"key_type":""}`, `}`, 1)
	var back2 Allocate
	must(t, json.Unmarshal([]byte(reordered), &back2))
	if again, _ := BodyHash(&back2); again == got {
		t.Fatal("a reordered docker_action hashes as the original (Python's str() keeps the order)")
	}
	// Either field alone asks for both to be covered.
	for _, s := range []*Allocate{{DockerChange: true}, {DockerAction: &DockerAction{}}} {
		if got := strings.Join(CoveredFields(s), ","); got != "timeline,device_requirement,checking,public_key,docker_change,docker_action" {
			t.Fatalf("covered %s", got)
		}
	}
	c := a.Clone()
	c.DockerAction.SSHKey = "changed"
	if a.DockerAction.SSHKey != keys {
		t.Fatal("Clone shares docker_action")
	}
}

// Requests that are no lease action are sent as before the lease actions
// existed: no docker_change, no docker_action, the same hash, so older and
// Python miners see the bodies they know.
func TestPlainAllocateBodiesUnchanged(t *testing.T) {
	a := &Allocate{Timeline: 30, Checking: false, PublicKey: testPEM, DockerRequirement: &DockerRequirement{SSHKey: testSSHKey}}
	var r DeviceRequirement
	r.CPU.Count = 1
	must(t, a.SetRequirement(r))
	a.RequiredHashFields = CoveredFields(a)
	body, err := json.Marshal(a)
	must(t, err)
	pemJSON, _ := json.Marshal(testPEM)
	want := `{"name":"","timeout":0,"total_size":0,"header_size":0,` +
		`"dendrite":{"status_code":null,"status_message":null,"process_time":null,"ip":null,"port":null,"version":null,"nonce":null,"uuid":null,"hotkey":null,"signature":null},` +
		`"axon":{"status_code":null,"status_message":null,"process_time":null,"ip":null,"port":null,"version":null,"nonce":null,"uuid":null,"hotkey":null,"signature":null},` +
		`"computed_body_hash":"","required_hash_fields":["timeline","device_requirement","checking","public_key","docker_requirement"],` +
		`"timeline":30,"device_requirement":{"cpu":{"count":1},"gpu":{"count":0,"capacity":0,"type":""},"hard_disk":{"capacity":0},"ram":{"capacity":0}},` +
		`"checking":false,"public_key":` + string(pemJSON) + `,"output":{"status":false},"docker_requirement":{"ssh_key":"` + testSSHKey + `"}}`
	if string(body) != want {
		t.Fatalf("plain allocate body\n got %s\nwant %s", body, want)
	}
	// A Python peer of the later subnet sends both fields with their defaults:
	// that is no lease action, and its hash is Python's.
	py := `{"timeline": 1, "device_requirement": {}, "checking": true, "public_key": "x", "docker_change": false, "docker_action": {"action": "", "ssh_key": "", "key_type": ""}, "required_hash_fields": ["docker_change", "docker_action"]}`
	var p Allocate
	must(t, json.Unmarshal([]byte(py), &p))
	if _, ok := p.LeaseAction(); ok {
		t.Fatal("docker_change false read as a lease action")
	}
	if got, _ := BodyHash(&p); got != "7a2457261a50f483fe59dd4f195f337da5048471bffdc7900b4a1122079aa305" {
		t.Fatalf("hash of the defaults %s", got)
	}
}

func TestPyJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, `{}`},
		{`{}`, `{}`},
		{`{"a": [1, 2.5, -0, -0.0, 1e400, 1E-2, 12345678901234567890]}`, `{'a': [1, 2.5, 0, -0.0, inf, 0.01, 12345678901234567890]}`},
		{`{"s": "line\nbreak\ttab 'q' \u00e9 \u00a0 \ud83d\ude00"}`, `{'s': "line\nbreak\ttab 'q' é \xa0 😀"}`},
		{`{"k": 1, "j": {"k": 2}, "k": 3}`, `{'k': 3, 'j': {'k': 2}}`},
		{`[true, false, null]`, `[True, False, None]`},
	}
	for _, tc := range tests {
		got, err := PyJSON([]byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("PyJSON(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`{`, `{"a": 1} x`, `[1,]`} {
		if _, err := PyJSON([]byte(bad)); err == nil {
			t.Errorf("PyJSON(%s) accepted", bad)
		}
	}
}

func FuzzPyJSON(f *testing.F) {
	for _, s := range []string{`{"cpu": {"count": 1.0}}`, `[1e400, -0, "\u00a0"]`, `{"k": 1, "k": 2}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := PyJSON(data)
		if err != nil && json.Valid(data) && len(strings.TrimSpace(string(data))) > 0 {
			t.Fatalf("valid JSON %q refused: %v", data, err)
		}
	})
}

func TestTerminalInfoNumbers(t *testing.T) {
	tests := []struct {
		in, want string // want: the nonce, or the error
	}{
		{`{"nonce": 1712000000000000000}`, "1712000000000000000"},
		{`{"nonce": "1712000000000000000"}`, "1712000000000000000"},
		{`{"nonce": 1712.0}`, "1712"},
		{`{"nonce": 1.5}`, "wire: field nonce: 1.5 is not a whole number"},
		{`{"nonce": 1e19}`, "wire: field nonce: 1e19 is out of range"},
		{`{"nonce": "99999999999999999999"}`, "wire: field nonce: 99999999999999999999 is out of range"},
		{`{"nonce": "soon"}`, `wire: field nonce: "soon" is not an integer`},
	}
	for _, tc := range tests {
		var ti TerminalInfo
		err := json.Unmarshal([]byte(tc.in), &ti)
		got := ""
		if err != nil {
			got = err.Error()
		} else if ti.Nonce != nil {
			got = strconv.FormatInt(*ti.Nonce, 10)
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
