package transport

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"
)

// RouteUser is the user name under which embedded servers authenticate
// their routes to each other, with the Secret as password.
const RouteUser = "backplane"

// secretBytes is how many random bytes a generated secret holds.
const secretBytes = 32

// secure settles the credentials: it generates the secret a lone embedded
// server needs, checks that a connection to a server at URL presents
// credentials unless Insecure, and warns when running without them.
func (t *Transport) secure() error {
	c := &t.cfg
	for name := range c.Users {
		if !ValidName(name) {
			return fmt.Errorf("%w: Users: node name %q", ErrInvalid, name)
		}
	}
	if c.Users != nil && c.URL == "" {
		pw, ok := c.Users[c.Name]
		if !ok {
			return fmt.Errorf("%w: Users has no entry for this node, %q", ErrInvalid, c.Name)
		}
		if c.Password == "" {
			if isBcrypt(pw) {
				return fmt.Errorf("%w: Users holds a hash for %q: set Password", ErrInvalid, c.Name)
			}
			c.Password = pw
		}
	}
	t.secret = c.Secret
	if t.secret == "" && c.URL == "" && !c.Insecure {
		b := make([]byte, secretBytes)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("transport: generate secret: %w", err)
		}
		t.secret = base64.RawURLEncoding.EncodeToString(b)
	}
	switch {
	case c.URL != "" && t.secret == "" && c.Password == "" && !hasCredentials(c.URL, c.NATSOptions):
		if !c.Insecure {
			return fmt.Errorf("%w: connecting to %s", ErrInsecure, redact(c.URL))
		}
		t.warnf("INSECURE: connecting to %s without credentials", redact(c.URL))
	case c.URL == "" && t.secret == "" && c.Users == nil:
		t.warnf("INSECURE: the embedded server on %s admits every client and route, without credentials", c.Listen)
	case c.URL == "" && t.secret == "" && (c.RouteListen != "" || len(c.Routes) > 0):
		t.warnf("INSECURE: the embedded server admits every route, without credentials")
	}
	return nil
}

// serverAuth sets the embedded server's authentication and TLS in opts and
// returns the client token it set, "" if none.
func (t *Transport) serverAuth(opts *server.Options) string {
	c := &t.cfg
	token := ""
	switch {
	case c.Users != nil:
		for name, pw := range c.Users {
			opts.Users = append(opts.Users, &server.User{Username: name, Password: pw, Permissions: Permissions(c.Cluster, name)})
		}
	case t.secret != "":
		token = t.secret
		opts.Authorization = token
	}
	if t.secret != "" && opts.Cluster.Port != 0 {
		opts.Cluster.Username, opts.Cluster.Password = RouteUser, t.secret
	}
	if c.TLS != nil {
		opts.TLSConfig = c.TLS
		opts.TLS = true
		if opts.Cluster.Port != 0 {
			opts.Cluster.TLSConfig = c.TLS
		}
	}
	return token
}

// ownClientAuth reports whether opts authenticate clients otherwise than
// with a token: a ServerOptions hook took over.
func ownClientAuth(o *server.Options) bool {
	return o.Username != "" || len(o.Users) > 0 || len(o.Nkeys) > 0 || len(o.TrustedOperators) > 0 ||
		len(o.TrustedKeys) > 0 || o.CustomClientAuthentication != nil || o.AuthCallout != nil
}

// clientAuth returns the client options that present this node's
// credentials and TLS, unless NATSOptions present credentials of their own.
func (t *Transport) clientAuth() []nats.Option {
	var opts []nats.Option
	if t.cfg.TLS != nil && t.cfg.URL != "" {
		opts = append(opts, nats.Secure(t.cfg.TLS))
	}
	if hasCredentials(t.cfg.URL, t.cfg.NATSOptions) {
		return opts
	}
	switch {
	case t.cfg.Password != "":
		opts = append(opts, nats.UserInfo(t.cfg.Name, t.cfg.Password))
	case t.secret != "":
		opts = append(opts, nats.Token(t.secret))
	}
	return opts
}

// hasCredentials reports whether the client would present credentials of
// its own: in a server URL, or set by an option.
func hasCredentials(urls string, opts []nats.Option) bool {
	for _, s := range strings.Split(urls, ",") {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
			return true
		}
	}
	o := nats.GetDefaultOptions()
	for _, opt := range opts {
		if opt != nil {
			_ = opt(&o)
		}
	}
	tlsCert := o.TLSCertCB != nil || (o.TLSConfig != nil && (len(o.TLSConfig.Certificates) > 0 || o.TLSConfig.GetClientCertificate != nil))
	return o.User != "" || o.Password != "" || o.Token != "" || o.TokenHandler != nil || o.UserInfo != nil ||
		o.UserJWT != nil || o.Nkey != "" || tlsCert
}

// routeURLs returns the Routes, given the route credentials where they
// carry none.
func (t *Transport) routeURLs() ([]*url.URL, error) {
	var out []*url.URL
	for _, r := range t.cfg.Routes {
		for _, s := range strings.Split(r, ",") {
			u, err := url.Parse(strings.TrimSpace(s))
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("%w: route %q", ErrInvalid, redact(s))
			}
			if u.User == nil && t.secret != "" {
				u.User = url.UserPassword(RouteUser, t.secret)
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// redact returns a URL list without its passwords, for messages.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, s := range parts {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
			if _, ok := u.User.Password(); !ok {
				u.User = url.User("xxxxx")
				parts[i] = u.String()
			}
		}
	}
	return strings.Join(parts, ",")
}

// Permissions returns the NATS permissions of node name in cluster under
// per-node credentials: it may publish only frames from itself
// ("<cluster>.node.*.<name>") and subscribe only to frames to itself
// ("<cluster>.node.<name>.*"), names written as in subjects (see doc.go).
// Beyond frames, it may use the cluster's registry bucket (names and
// groups, see registryPublish) and subscribe to the client inboxes
// (InboxSubjects) for the answers. Give them to the node's user on an
// external NATS server.
func Permissions(cluster, name string) *server.Permissions {
	p := cluster + ".node."
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: append([]string{p + "*." + token(name)}, registryPublish(cluster)...)},
		Subscribe: &server.SubjectPermission{Allow: []string{p + token(name) + ".*", InboxSubjects}},
	}
}

// HashPassword returns a bcrypt hash of password, for Config.Users (and
// for the users of an external NATS server): every server then checks
// passwords without storing them.
func HashPassword(password string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("transport: hash password: %w", err)
	}
	return string(b), nil
}

// isBcrypt reports whether s looks like a bcrypt hash, as NATS tells them.
func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}
