package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
)

func (b *bundle) systemID(oid string) string {
	b.t.Helper()
	var id string
	if err := b.app.Pool.QueryRow(context.Background(),
		`SELECT s.id::text FROM information_systems s JOIN organizations o ON o.id = s.organization_id WHERE o.oid = $1`, oid).Scan(&id); err != nil {
		b.t.Fatal(err)
	}
	return id
}

func (b *bundle) keyIDs(sys string) []string {
	b.t.Helper()
	r := b.do("GET", "/api/v1/ops/systems/"+sys+"/keys", b.keyOp, nil)
	if r.Status != 200 {
		b.t.Fatalf("list keys: %d %s", r.Status, r.Raw)
	}
	var ids []string
	for _, k := range r.Body["items"].([]any) {
		ids = append(ids, k.(map[string]any)["id"].(string))
	}
	return ids
}

func (b *bundle) authStatus(key string) int {
	b.t.Helper()
	return b.do("GET", "/api/v1/me", key, nil).Status
}

// An operator lists, issues, revokes and rotates a system's keys; a
// revoked key gets 401 on its very next request; every change is audited
// with the operator's key as the actor.
func TestKeyManagement(t *testing.T) {
	b := setup(t, 0)
	sysA := b.systemID(b.orgA.OID)
	if b.authStatus(b.keyA) != 200 {
		t.Fatal("key A does not work")
	}
	ids := b.keyIDs(sysA)
	if len(ids) != 1 {
		t.Fatalf("keys of A: %v", ids)
	}
	first := b.do("GET", "/api/v1/ops/systems/"+sysA+"/keys", b.keyOp, nil).Body["items"].([]any)[0].(map[string]any)
	if first["active"] != true || first["last_used_at"] == nil || first["revoked_at"] != nil {
		t.Fatalf("key listed as %v", first)
	}
	if _, ok := first["key_hash"]; ok {
		t.Fatal("the key hash is shown")
	}
	// Only operators.
	if r := b.do("GET", "/api/v1/ops/systems/"+sysA+"/keys", b.keyA, nil); r.Status != http.StatusForbidden {
		t.Fatalf("МИС listing keys: %d", r.Status)
	}

	// Issue a second key; it works at once. Revoke it; it fails at once.
	iss := b.do("POST", "/api/v1/ops/systems/"+sysA+"/keys", b.keyOp, map[string]string{"name": "reserve"})
	if iss.Status != http.StatusCreated {
		t.Fatalf("issue: %d %s", iss.Status, iss.Raw)
	}
	second, secondID := iss.Body["api_key"].(string), iss.Body["key"].(map[string]any)["id"].(string)
	if b.authStatus(second) != 200 {
		t.Fatal("issued key does not work")
	}
	if r := b.do("DELETE", "/api/v1/ops/keys/"+secondID, b.keyOp, nil); r.Status != 200 || r.Body["active"] != false {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	if st := b.authStatus(second); st != http.StatusUnauthorized {
		t.Fatalf("revoked key: %d", st)
	}
	if r := b.do("POST", "/api/v1/ops/keys/"+secondID+"/revoke", b.keyOp, nil); r.Status != 200 {
		t.Fatalf("repeated revoke: %d %s", r.Status, r.Raw)
	}

	// Rotate with an overlap: both work until the old one is revoked.
	rot := b.do("POST", "/api/v1/ops/keys/"+ids[0]+"/rotate", b.keyOp, map[string]string{"overlap": "1h"})
	if rot.Status != http.StatusCreated {
		t.Fatalf("rotate: %d %s", rot.Status, rot.Raw)
	}
	newKey := rot.Body["new"].(map[string]any)["api_key"].(string)
	newID := rot.Body["new"].(map[string]any)["key"].(map[string]any)["id"].(string)
	if old := rot.Body["old"].(map[string]any); old["active"] != true || old["revoked_at"] == nil || old["replaced_by"] != newID {
		t.Fatalf("old key after rotation with overlap: %v", old)
	}
	if b.authStatus(b.keyA) != 200 || b.authStatus(newKey) != 200 {
		t.Fatal("during the overlap both keys must work")
	}
	if r := b.do("POST", "/api/v1/ops/keys/"+ids[0]+"/rotate", b.keyOp, nil); r.Status != http.StatusConflict {
		t.Fatalf("rotating a rotated key: %d %s", r.Status, r.Raw)
	}
	if r := b.do("DELETE", "/api/v1/ops/keys/"+ids[0], b.keyOp, nil); r.Status != 200 {
		t.Fatalf("ending the overlap: %d", r.Status)
	}
	if b.authStatus(b.keyA) != http.StatusUnauthorized || b.authStatus(newKey) != 200 {
		t.Fatal("after revoking the old key only the new one works")
	}

	// Rotate without overlap: the old key stops at once.
	rot2 := b.do("POST", "/api/v1/ops/keys/"+newID+"/rotate", b.keyOp, nil)
	if rot2.Status != http.StatusCreated {
		t.Fatalf("rotate: %d %s", rot2.Status, rot2.Raw)
	}
	if b.authStatus(newKey) != http.StatusUnauthorized || b.authStatus(rot2.Body["new"].(map[string]any)["api_key"].(string)) != 200 {
		t.Fatal("rotation without overlap must revoke at once")
	}

	// Bad requests change nothing.
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"POST", "/api/v1/ops/keys/" + newID + "/rotate", map[string]string{"overlap": "9999h"}, 400},
		{"POST", "/api/v1/ops/keys/" + newID + "/rotate", map[string]string{"overlap": "soon"}, 400},
		{"DELETE", "/api/v1/ops/keys/00000000-0000-0000-0000-000000000001", nil, 404},
		{"DELETE", "/api/v1/ops/keys/nonsense", nil, 404},
		{"GET", "/api/v1/ops/systems/00000000-0000-0000-0000-000000000001/keys", nil, 404},
		{"POST", "/api/v1/ops/systems/00000000-0000-0000-0000-000000000001/keys", nil, 404},
	} {
		if r := b.do(tc.method, tc.path, b.keyOp, tc.body); r.Status != tc.status {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, r.Status, r.Raw)
		}
	}

	// The audit log: who (the operator's key), what, which key, newest first.
	op, err := b.app.Store.Authenticate(context.Background(), b.keyOp)
	if err != nil {
		t.Fatal(err)
	}
	au := b.do("GET", "/api/v1/ops/audit?system_id="+sysA, b.keyOp, nil)
	if au.Status != 200 {
		t.Fatalf("audit: %d %s", au.Status, au.Raw)
	}
	var got []string
	for _, e := range au.Body["items"].([]any) {
		m := e.(map[string]any)
		if m["actor"] != "operator" || m["actor_key_id"] != op.KeyID.String() || m["actor_name"] != "operator" || m["system_id"] != sysA {
			t.Errorf("audit entry %v", m)
		}
		got = append(got, fmt.Sprintf("%s %s", m["action"], m["target_key_id"]))
	}
	want := []string{"key.rotate " + newID, "key.revoke " + ids[0], "key.rotate " + ids[0], "key.revoke " + secondID, "key.issue " + secondID}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit:\n got %v\nwant %v", got, want)
	}
	// Paging.
	p1 := b.do("GET", "/api/v1/ops/audit?limit=2", b.keyOp, nil)
	p2 := b.do("GET", "/api/v1/ops/audit?limit=2&before="+p1.Body["next_cursor"].(string), b.keyOp, nil)
	if len(p1.Body["items"].([]any)) != 2 || len(p2.Body["items"].([]any)) != 2 ||
		p2.Body["items"].([]any)[0].(map[string]any)["action"] != "key.rotate" {
		t.Fatalf("paging: %s / %s", p1.Raw, p2.Raw)
	}
	// Registering a system is audited too, with its first key.
	reg := b.do("POST", "/api/v1/ops/systems", b.keyOp, map[string]string{"organization_oid": b.orgA.OID, "organization_name": "x", "system_name": "МИС 2"})
	if reg.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", reg.Status, reg.Raw)
	}
	last := b.do("GET", "/api/v1/ops/audit?limit=1", b.keyOp, nil).Body["items"].([]any)[0].(map[string]any)
	if last["action"] != "system.register" || last["target_key_id"] != reg.Body["key_id"] || last["actor_key_id"] != op.KeyID.String() {
		t.Fatalf("registration audit: %v", last)
	}
	if r := b.do("GET", "/api/v1/ops/audit", b.keyB, nil); r.Status != http.StatusForbidden {
		t.Fatalf("МИС reading the audit: %d", r.Status)
	}
}
