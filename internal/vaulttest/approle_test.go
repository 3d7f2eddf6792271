package vaulttest

import (
	"reflect"
	"strings"
	"testing"
)

func TestAppRoleSecretIDs(t *testing.T) {
	s := New(t, "root")
	c := newClient(t, s, "root")
	if _, err := c.Logical().Write("auth/approle/role/chatbot", map[string]any{"token_policies": []string{"chatbot"}}); err != nil {
		t.Fatal(err)
	}
	roleID, err := c.Logical().Read("auth/approle/role/chatbot/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := c.Logical().Write("auth/approle/role/chatbot/secret-id", map[string]any{"metadata": `{"aisoar-rotation":"abc"}`})
	if err != nil {
		t.Fatal(err)
	}
	id, accessor := sid.Data["secret_id"].(string), sid.Data["secret_id_accessor"].(string)
	list, err := c.Logical().List("auth/approle/role/chatbot/secret-id")
	if err != nil || !reflect.DeepEqual(list.Data["keys"], []any{accessor}) {
		t.Errorf("list = %v, %v", list, err)
	}
	look, err := c.Logical().Write("auth/approle/role/chatbot/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accessor})
	if err != nil || !reflect.DeepEqual(look.Data["metadata"], map[string]any{"aisoar-rotation": "abc"}) {
		t.Errorf("accessor lookup = %v, %v", look, err)
	}
	login, err := newClient(t, s, "").Logical().Write("auth/approle/login", map[string]any{"role_id": roleID.Data["role_id"], "secret_id": id})
	if err != nil || login.Auth == nil || !reflect.DeepEqual(login.Auth.Policies, []string{"chatbot"}) {
		t.Fatalf("login = %v, %v", login, err)
	}
	if _, err := c.Logical().Write("auth/approle/role/chatbot/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": accessor}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		body   map[string]any
		status int
		msg    string
	}{
		{"auth/approle/login", map[string]any{"role_id": roleID.Data["role_id"], "secret_id": id}, 400, "invalid role or secret ID"},
		{"auth/approle/role/chatbot/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accessor}, 404, "failed to find accessor entry for secret_id_accessor"},
		{"auth/approle/role/chatbot/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": accessor}, 500, "failed to find accessor entry for secret_id_accessor"},
		{"auth/approle/role/nobody/secret-id", nil, 404, `role "nobody" does not exist`},
	}
	for _, tt := range tests {
		_, err := c.Logical().Write(tt.path, tt.body)
		if re := responseError(t, err); re.StatusCode != tt.status || len(re.Errors) != 1 || !strings.Contains(re.Errors[0], tt.msg) {
			t.Errorf("%s: %d %q, want %d %q", tt.path, re.StatusCode, re.Errors, tt.status, tt.msg)
		}
	}
	if gone, err := c.Logical().Write("auth/approle/role/chatbot/secret-id/lookup", map[string]any{"secret_id": id}); err != nil || gone != nil {
		t.Errorf("lookup of a destroyed secret-id = %v, %v; want 204", gone, err)
	}
}
