package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// frontConfig turns deploy/nginx.conf into a complete nginx.conf for a
// test or benchmark on loopback: the http-level directives (cache path,
// upstream) and the TLS server's directives and locations as they are,
// with the upstream address, the cache folder and the listen address
// replaced, and the TLS, HTTP/2 and port 80 parts left out. Everything
// under dir (pid, logs, temp files, cache).
func frontConfig(deployConf, listen, upstream, dir string, workers int) (string, error) {
	b, err := os.ReadFile(deployConf)
	if err != nil {
		return "", err
	}
	var top, server strings.Builder
	depth, inTLS, found := 0, false, false
	var block []string // the lines of the server block being read
	for _, line := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(line)
		if i := strings.IndexByte(t, '#'); i >= 0 {
			t = strings.TrimSpace(t[:i])
		}
		switch {
		case depth == 0 && t == "server {":
			depth, block, inTLS = 1, nil, false
			continue
		case depth == 1 && t == "}":
			depth = 0
			if inTLS {
				found = true
				for _, l := range block {
					server.WriteString(l + "\n")
				}
			}
			continue
		case depth >= 1:
			if strings.HasPrefix(t, "listen ") && strings.Contains(t, " ssl") {
				inTLS = true
			}
			depth += strings.Count(t, "{") - strings.Count(t, "}")
			if skipFront.MatchString(t) {
				continue
			}
			block = append(block, line)
		default:
			top.WriteString(line + "\n")
		}
	}
	if !found {
		return "", fmt.Errorf("%s: no server with `listen … ssl`", deployConf)
	}
	site := top.String() + "server {\n    listen " + listen + ";\n" + server.String() + "}\n"
	site = strings.ReplaceAll(site, "127.0.0.1:8080", upstream)
	site = strings.ReplaceAll(site, "/var/cache/nginx/herald", dir+"/cache")
	return fmt.Sprintf(`worker_processes %d;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
daemon off;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on; # as in Debian's /etc/nginx/nginx.conf
	tcp_nopush on;
	keepalive_requests 1000000;
	client_body_temp_path %[2]s/tmp;
	proxy_temp_path %[2]s/tmp;
	fastcgi_temp_path %[2]s/tmp;
	uwsgi_temp_path %[2]s/tmp;
	scgi_temp_path %[2]s/tmp;
%[3]s}
`, workers, dir, site), nil
}

// skipFront are the deploy config's lines that need certificates or a
// privileged port.
var skipFront = regexp.MustCompile(`^(listen |ssl_|http2 |server_name )`)
