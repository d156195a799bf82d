package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// A node is secure by default: its embedded server admits only clients
// that present its (generated) secret, and a node connecting to a server
// at a URL needs credentials unless it says Insecure.
func TestSecretByDefault(t *testing.T) {
	a := start(t, Config{Name: "a", RouteListen: "127.0.0.1:0"})
	secret := a.Secret()
	if len(secret) < 32 {
		t.Fatalf("generated secret %q", secret)
	}
	if other := start(t, Config{Name: "o"}); other.Secret() == secret {
		t.Fatal("two nodes generated the same secret")
	}
	for _, opts := range [][]nats.Option{nil, {nats.Token("guess")}, {nats.UserInfo("a", secret)}} {
		if nc, err := nats.Connect(a.ClientURL(), opts...); err == nil {
			nc.Close()
			t.Fatalf("a client with %d options got in", len(opts))
		}
	}
	if _, err := Start(full(Config{Name: "b", URL: a.ClientURL()}), newRec()); !errors.Is(err, ErrInsecure) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Start without credentials: %v", err)
	}
	if _, err := Start(full(Config{Name: "b", URL: a.ClientURL(), Secret: "guess"}), newRec()); err == nil {
		t.Fatal("Start with a wrong secret succeeded")
	}
	var warned []string
	var mu sync.Mutex
	warn := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		warned = append(warned, fmt.Sprintf(format, args...))
	}
	if _, err := Start(full(Config{Name: "b", URL: a.ClientURL(), Insecure: true, Warnf: warn}), newRec()); err == nil {
		t.Fatal("Start with Insecure and no credentials got in")
	}
	mu.Lock()
	if len(warned) != 1 {
		t.Fatalf("warnings %q", warned)
	}
	mu.Unlock()
	b := start(t, Config{Name: "b", URL: a.ClientURL(), Secret: secret})
	connect(t, a, b)
	// Credentials in the options are the client's own.
	c := start(t, Config{Name: "c", URL: a.ClientURL(), NATSOptions: []nats.Option{nats.Token(secret)}})
	connect(t, a, c)
	// Routes carry the secret.
	d := start(t, Config{Name: "d", Routes: []string{a.RouteURL()}, Secret: secret})
	connect(t, d, b)
}

// Insecure runs an embedded server that admits anyone, with a warning.
func TestInsecure(t *testing.T) {
	var warnings int
	var mu sync.Mutex
	a := start(t, Config{Name: "a", Insecure: true, Warnf: func(string, ...any) { mu.Lock(); warnings++; mu.Unlock() }})
	if a.Secret() != "" {
		t.Fatalf("secret %q", a.Secret())
	}
	mu.Lock()
	if warnings != 1 {
		t.Fatalf("%d warnings", warnings)
	}
	mu.Unlock()
	b := start(t, Config{Name: "b", URL: a.ClientURL(), Insecure: true})
	connect(t, a, b)
}

// Per-node credentials: each node logs in as itself, may publish only as
// itself (TestAttackImpersonation), and the users are checked.
func TestUsers(t *testing.T) {
	users := map[string]string{"a": hash(t, "pa"), "b": hash(t, "pb"), "c": "pc"}
	a := start(t, Config{Name: "a", Users: users, Password: "pa", RouteListen: "127.0.0.1:0"})
	b := start(t, Config{Name: "b", URL: a.ClientURL(), Password: "pb"})
	connect(t, a, b)
	// c's password is given in the clear in Users: it is its own.
	c := start(t, Config{Name: "c", Users: users, Routes: []string{a.RouteURL()}, Secret: a.Secret()})
	connect(t, c, b)
	for _, cfg := range []Config{
		{Name: "b", URL: a.ClientURL(), Password: "pa"},     // another node's password
		{Name: "x", URL: a.ClientURL(), Password: "px"},     // not a user
		{Name: "b", URL: a.ClientURL(), Secret: a.Secret()}, // the route secret is no client credential
		{Name: "b", URL: a.ClientURL(), Users: users},       // no password
		{Name: "a", Users: users},                           // a hash, no password
		{Name: "z", Users: users, Password: "pz"},           // not in Users
		{Name: "a", Users: map[string]string{"a b": "x"}},   // a bad name
	} {
		if tr, err := Start(full(cfg), newRec()); err == nil {
			tr.Close()
			t.Fatalf("Start(%+v) succeeded", cfg)
		}
	}
	if h, err := HashPassword("pw"); err != nil || !isBcrypt(h) {
		t.Fatalf("HashPassword: %q, %v", h, err)
	}
	p := Permissions(testCluster, "db.primary")
	if p.Publish.Allow[0] != "backplane.node.*.db~primary" || p.Subscribe.Allow[0] != "backplane.node.db~primary.*" {
		t.Fatalf("permissions %+v %+v", p.Publish, p.Subscribe)
	}
}

// A node name with a dot is one subject token, so that no two pairs of
// names share a subject.
func TestDottedNames(t *testing.T) {
	a := start(t, Config{Name: "db"})
	b := start(t, Config{Name: "primary.a", URL: a.ClientURL(), Secret: a.Secret()})
	c := start(t, Config{Name: "db.primary", URL: a.ClientURL(), Secret: a.Secret()})
	connect(t, a, b)
	connect(t, c, b)
	connect(t, a, c)
}

// TLS between machines: the clients' and routes' links are encrypted and
// the peers verified; a plain connection is refused.
func TestTLS(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	a := start(t, Config{Name: "a", TLS: serverTLS, RouteListen: "127.0.0.1:0"})
	if _, err := nats.Connect(a.ClientURL(), nats.Token(a.Secret())); err == nil {
		t.Fatal("a plain connection got in")
	}
	if _, err := Start(full(Config{Name: "x", URL: a.ClientURL(), Secret: a.Secret()}), newRec()); err == nil {
		t.Fatal("a node without TLS got in")
	}
	b := start(t, Config{Name: "b", URL: a.ClientURL(), Secret: a.Secret(), TLS: clientTLS})
	connect(t, a, b)
	c := start(t, Config{Name: "c", TLS: serverTLS, Routes: []string{a.RouteURL()}, Secret: a.Secret()})
	connect(t, c, b)
}

// testTLS makes a CA and one certificate for 127.0.0.1, for servers and
// clients alike, and returns the configurations of a server (which
// requires client certificates) and of a client.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, leafKey := key(), key()
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "node"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	server = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, RootCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	client = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}
