package observer

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// WithAllowedHosts adds names to the Host headers the handler answers. By
// default it answers only requests whose Host is a loopback name or
// address (localhost, 127.0.0.0/8 or [::1], with any port), so that a web
// page whose DNS name was rebound to 127.0.0.1 cannot read the API or,
// with WithShutdown, stop devices: the browser still sends the page's own
// name as Host, and the handler refuses it with 403. A request for another
// Host gets 403 and a JSON error body.
//
// Each host is matched without its port and without regard to case:
//
//	"observer.internal"   exactly that name
//	"10.0.0.7", "[fd00::1]" exactly that address
//	"*.example.com"       any name under example.com (not example.com itself)
//	"*"                   any Host at all: turns the check off (use it only
//	                      behind a proxy or middleware that checks Host)
//
// Give it when the handler is reached by another name, e.g. behind a
// reverse proxy that keeps the client's Host, or on a LAN address:
//
//	observer.Handler(rec, observer.WithAllowedHosts("observer.example.com"))
//
// Loopback names stay allowed. Calls add up. Empty strings are ignored.
func WithAllowedHosts(hosts ...string) HandlerOption {
	return handlerOptionFunc(func(c *handlerConfig) {
		for _, h := range hosts {
			h = strings.ToLower(strings.TrimSpace(h))
			h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
			if h != "" {
				c.hosts = append(c.hosts, h)
			}
		}
	})
}

// hostAllowed reports whether hostport (a Host header, or the host of an
// Origin) names a loopback host or one of allowed.
func hostAllowed(hostport string, allowed []string) bool {
	host := hostOnly(hostport)
	if host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, a := range allowed {
		switch {
		case a == "*":
			return true
		case strings.HasPrefix(a, "*."):
			if len(host) > len(a)-1 && strings.HasSuffix(host, a[1:]) {
				return true
			}
		case a == host:
			return true
		}
	}
	return false
}

// hostOnly returns the host of hostport in lower case, without its port
// or the brackets of an IPv6 address; "" if hostport is malformed.
func hostOnly(hostport string) string {
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil && port != "" {
			return ""
		}
		host = h
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	} else if strings.ContainsAny(hostport, "[]:") {
		return ""
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || strings.ContainsAny(host, " /\\@?#%\t\r\n") {
		return ""
	}
	return host
}

// checkHost answers requests for a Host that is not allowed with 403 and
// passes the others to next.
func checkHost(allowed []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, allowed) {
			writeError(w, http.StatusForbidden, "host "+strconv.Quote(r.Host)+" not allowed (see observer.WithAllowedHosts)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkOrigin refuses a request whose Origin header, when present, does
// not name an allowed host: a page served from elsewhere must not post.
func checkOrigin(allowed []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !hostAllowed(u.Host, allowed) {
				writeError(w, http.StatusForbidden, "origin "+strconv.Quote(o)+" not allowed (see observer.WithAllowedHosts)")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
