package tlsconf

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net"
	"strings"
	"testing"
)

// TestMaterial: a listener's certificate and ticket key handed from one
// process to another serve the same certificate, and two listeners made
// from it resume each other's sessions; what is read is bounded and
// checked.
func TestMaterial(t *testing.T) {
	parent, err := (&Server{On: true, Cert: "ed25519"}).ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Export(parent)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	got, err := ReadMaterial(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var servers [2]*tls.Config
	for i := range servers {
		if servers[i], err = (&Server{On: true, Material: got}).ServerConfig(); err != nil {
			t.Fatal(err)
		}
		if !servers[i].Certificates[0].Leaf.Equal(parent.Certificates[0].Leaf) {
			t.Fatalf("server %d serves another certificate", i)
		}
	}
	client, err := (&Client{On: true, Resume: "tickets", SNI: "connbench.test", Version: "1.3"}).ClientConfig(Roots(parent))
	if err != nil {
		t.Fatal(err)
	}
	// A full handshake with the first, resumed with the second.
	for i, want := range []bool{false, true} {
		c, s := net.Pipe()
		done := make(chan error, 1)
		go func() {
			ts := tls.Server(s, servers[i])
			err := ts.Handshake()
			if err == nil {
				_, err = ts.Write([]byte("x")) // TLS 1.3 tickets follow the handshake
			}
			done <- err
		}()
		tc := tls.Client(c, client)
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		if _, err := tc.Read(buf); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if r := tc.ConnectionState().DidResume; r != want {
			t.Errorf("handshake %d: resumed %v, want %v", i, r, want)
		}
		c.Close()
		s.Close()
	}
	other, _ := Generate("ecdsa-p256")
	mo, _ := Export(&tls.Config{Certificates: []tls.Certificate{other}})
	for name, in := range map[string]string{
		"not JSON":       "certificate",
		"too large":      strings.Repeat(" ", MaxMaterialBytes+1),
		"short key":      `{"cert_pem":"","key_pem":"","ticket_key":"AAAA"}`,
		"no certificate": `{}`,
		"mismatched":     string(must(json.Marshal(Material{CertPEM: m.CertPEM, KeyPEM: mo.KeyPEM}))),
	} {
		if _, err := ReadMaterial(strings.NewReader(in)); err == nil {
			t.Errorf("%s: read without an error", name)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
