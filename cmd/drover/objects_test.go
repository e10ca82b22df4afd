package main

import "testing"

func TestResultField(t *testing.T) {
	body := []byte(`{"success":true,"result":{"id":2,"endpoint_name":"tour","revision":11,"inactivity_timeout":null}}`)
	tests := []struct {
		name, field, want string
		wantErr           bool
	}{
		{name: "number", field: "revision", want: "11"},
		{name: "string bare", field: "endpoint_name", want: "tour"},
		{name: "null", field: "inactivity_timeout", want: "null"},
		{name: "missing", field: "nope", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resultField(body, tt.field)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("resultField(%q) = %q, %v; want %q (error %v)", tt.field, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
