package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PostfixOptions say where a Postfix instance sends mail. Keys are a
// domain ("example.test") or one address ("gone@example.test"); Postfix
// looks up the address before its domain. Mail for anything not listed
// defers (there is no DNS and no local delivery), so list every domain a
// test sends to, including the domain of the envelope sender, where
// Postfix delivers its DSNs.
type PostfixOptions struct {
	// Relay delivers over SMTP to host:port (smtp:[host]:port, no MX
	// lookup): an in-process sink, or Herald's inbound bounce listener. A
	// relay that answers 5xx, even after DATA, makes Postfix bounce.
	Relay map[string]string
	// Fail bounces at once with Postfix's error transport; the value is
	// an enhanced status code and text, "5.1.1 no such user".
	Fail map[string]string
	// Defer keeps mail in the queue with Postfix's retry transport; the
	// value is a 4.x.x code and text, "4.2.2 mailbox full".
	Defer map[string]string
	// DelayWarning, when positive, makes Postfix send a "delayed" DSN
	// (delay_warning_time) for mail still queued after it.
	DelayWarning time.Duration
	// QueueLifetime, when positive, returns deferred mail to the sender
	// after it (maximal_queue_lifetime); the default is Postfix's 5 days.
	// Both durations are rounded to whole seconds, at least one.
	QueueLifetime time.Duration
}

// PostfixServer is Debian's Postfix running as an instance of its own:
// configuration, queue and data directories in a temporary directory,
// SMTP on a loopback port, logs in a file, stopped when the test ends.
type PostfixServer struct {
	addr    string
	dir     string // config_directory
	queue   string
	logFile string
	bin     string // command_directory, for postqueue
}

// Postfix starts a Postfix instance for t. It needs Debian's postfix
// package (`apt-get install postfix`; .ci/run installs it) and root, since
// Postfix's master runs as root and its daemons as the postfix user;
// without either it skips t (fails it under HERALD_TEST_REQUIRE_ALL=1).
// Nothing of the system's Postfix is used but its programs: no
// /etc/postfix/main.cf, no system queue, no port 25.
func Postfix(t testing.TB, opts PostfixOptions) *PostfixServer {
	t.Helper()
	postconf := "/usr/sbin/postconf"
	if p, err := exec.LookPath("postconf"); err == nil {
		postconf = p
	}
	// -d prints the compiled-in defaults without reading a main.cf.
	out, err := exec.Command(postconf, "-d", "-h", "daemon_directory", "command_directory", "mail_owner", "setgid_group").Output()
	if err != nil {
		Missing(t, "postfix is not installed (no postconf: "+err.Error()+")")
	}
	v := strings.Fields(string(out))
	if len(v) != 4 {
		t.Fatalf("postconf -d: unexpected output %q", out)
	}
	daemonDir, cmdDir, ownerName, groupName := v[0], v[1], v[2], v[3]
	master := filepath.Join(daemonDir, "master")
	if _, err := os.Stat(master); err != nil {
		Missing(t, "postfix is not installed: "+err.Error())
	}
	if os.Geteuid() != 0 {
		Missing(t, "postfix needs root (its master runs as root, its daemons as "+ownerName+")")
	}
	uid, gid, err := lookupIDs(ownerName, groupName)
	if err != nil {
		Missing(t, "postfix: "+err.Error())
	}

	// Not t.TempDir: its parents are 0700 and root's, which the postfix
	// user could not pass through.
	root, err := os.MkdirTemp("", "herald-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	p := &PostfixServer{
		dir:     filepath.Join(root, "etc"),
		queue:   filepath.Join(root, "spool"),
		logFile: filepath.Join(root, "maillog"),
		bin:     cmdDir,
	}
	data := filepath.Join(root, "data")
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(root); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 {
			t.Fatalf("postfix: its daemons (user %s) cannot pass through %s; point TMPDIR elsewhere", ownerName, d)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	if err := makeQueue(p.queue, data, uid, gid); err != nil {
		t.Fatalf("postfix: %v", err)
	}
	if err := os.Mkdir(p.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("postfix: %v", err)
	}
	p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	transport, err := transportMap(opts)
	if err != nil {
		t.Fatalf("postfix: %v", err)
	}
	files := map[string]string{
		"main.cf":   mainCF(p, data, root, opts),
		"master.cf": masterCF(p.addr),
		"transport": transport,
		"bounce.cf": bounceCF,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// master -d stays in the foreground, so the test owns the process. It
	// must lead a process group of its own: on SIGTERM it signals its
	// whole group, which would otherwise be the test's.
	cmd := exec.Command(master, "-c", p.dir, "-d")
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+p.dir)
	// A file, not a pipe: daemons that inherit it would keep cmd.Wait
	// waiting for the pipe to close.
	masterOut, err := os.Create(filepath.Join(root, "master.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer masterOut.Close()
	cmd.Stdout, cmd.Stderr = masterOut, masterOut
	stderr := func() string {
		b, _ := os.ReadFile(masterOut.Name())
		return string(b)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("postfix: start master: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		// master exits at once on SIGTERM without waiting for its
		// daemons; the group kill stops those still running.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("postfix master output:\n%s\npostfix log (%s):\n%s", stderr(), p.logFile, p.Logs())
		}
	})
	if err := p.waitReady(exited, &waitErr); err != nil {
		t.Fatalf("postfix: %v\nmaster output:\n%s\nlog:\n%s", err, stderr(), p.Logs())
	}
	return p
}

// Addr is host:port of the instance's SMTP server (no TLS, no AUTH);
// clients on 127.0.0.1 may relay anywhere through it (mynetworks), and it
// accepts every recipient, so failures come back as DSNs, not replies.
func (p *PostfixServer) Addr() string { return p.addr }

// Logs returns Postfix's log so far (its maillog_file); tests that fail
// print it on their own at cleanup.
func (p *PostfixServer) Logs() string {
	b, err := os.ReadFile(p.logFile)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// Flush asks Postfix to retry deferred mail now (postqueue -f), instead of
// at its next queue run.
func (p *PostfixServer) Flush(t testing.TB) {
	t.Helper()
	cmd := exec.Command(filepath.Join(p.bin, "postqueue"), "-c", p.dir, "-f")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("postqueue -f: %v: %s", err, out)
	}
}

// lookupIDs returns the uid of Postfix's mail_owner and the gid of its
// setgid_group.
func lookupIDs(userName, groupName string) (uid, gid int, err error) {
	u, err := user.Lookup(userName)
	if err != nil {
		return 0, 0, fmt.Errorf("no mail_owner user: %w", err)
	}
	g, err := user.LookupGroup(groupName)
	if err != nil {
		return 0, 0, fmt.Errorf("no setgid_group: %w", err)
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, fmt.Errorf("user %s: uid %q: %w", userName, u.Uid, err)
	}
	if gid, err = strconv.Atoi(g.Gid); err != nil {
		return 0, 0, fmt.Errorf("group %s: gid %q: %w", groupName, g.Gid, err)
	}
	return uid, gid, nil
}

// makeQueue lays out the queue and data directories as Debian's
// postfix-files does (`postfix set-permissions` would also touch the
// system's files, so it is done here).
func makeQueue(queue, data string, uid, postdrop int) error {
	type entry struct {
		name string
		mode os.FileMode
		uid  int
		gid  int
	}
	entries := []entry{{"pid", 0o755, 0, 0}, {"maildrop", 0o730, uid, postdrop}, {"public", 0o710, uid, postdrop}}
	for _, d := range []string{"active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved", "trace"} {
		entries = append(entries, entry{d, 0o700, uid, 0})
	}
	if err := os.Mkdir(queue, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		path := filepath.Join(queue, e.name)
		if err := os.Mkdir(path, e.mode); err != nil {
			return err
		}
		// Mkdir applies the umask, and group bits matter here.
		if err := os.Chmod(path, e.mode); err != nil {
			return err
		}
		if err := os.Chown(path, e.uid, e.gid); err != nil {
			return err
		}
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		return err
	}
	return os.Chown(data, uid, 0)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// transportMap writes the texthash transport table (read at start, no
// postmap needed).
func transportMap(opts PostfixOptions) (string, error) {
	lines := map[string]string{}
	add := func(key, value string) error {
		key = strings.ToLower(strings.TrimSpace(key))
		if key == "" || strings.ContainsAny(key, " \t\n") || strings.ContainsAny(value, "\n") {
			return fmt.Errorf("bad transport entry %q: %q", key, value)
		}
		if _, dup := lines[key]; dup {
			return fmt.Errorf("%s is listed twice in the options", key)
		}
		lines[key] = value
		return nil
	}
	for k, hostport := range opts.Relay {
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return "", fmt.Errorf("relay for %s: %w", k, err)
		}
		if ip := net.ParseIP(host); ip == nil || ip.To4() == nil {
			return "", fmt.Errorf("relay for %s: %s is not an IPv4 address (the instance speaks IPv4 only)", k, host)
		}
		if err := add(k, "smtp:["+host+"]:"+port); err != nil {
			return "", err
		}
	}
	for k, text := range opts.Fail {
		if err := add(k, "error:"+text); err != nil {
			return "", err
		}
	}
	for k, text := range opts.Defer {
		if err := add(k, "retry:"+text); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range lines {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, "%s %s\n", k, lines[k])
	}
	return b.String(), nil
}

func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s"
}

func mainCF(p *PostfixServer, data, root string, opts PostfixOptions) string {
	lifetime := "5d"
	if opts.QueueLifetime > 0 {
		lifetime = seconds(opts.QueueLifetime)
	}
	warn := "0h"
	if opts.DelayWarning > 0 {
		warn = seconds(opts.DelayWarning)
	}
	return fmt.Sprintf(`# Written by internal/testenv for one test.
compatibility_level = 3.6
config_directory = %[1]s
queue_directory = %[2]s
data_directory = %[3]s
maillog_file = %[4]s
maillog_file_prefixes = %[5]s
myhostname = mx.postfix.test
mydomain = postfix.test
myorigin = $myhostname
mydestination =
local_transport = error:5.1.1 local delivery is disabled in this test instance
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
# Accept every recipient, so that Postfix bounces after the fact with a DSN
# (an error: transport is otherwise refused at RCPT).
smtpd_reject_unlisted_recipient = no
smtp_dns_support_level = disabled
smtputf8_enable = no
smtpd_tls_security_level = none
smtp_tls_security_level = none
biff = no
append_dot_mydomain = no
transport_maps = texthash:%[1]s/transport
# Anything not in transport_maps: no DNS here, so keep it queued.
default_transport = retry:4.4.1 no route in this test instance
# Retry and bounce within seconds, not minutes.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = %[6]s
maximal_queue_lifetime = %[7]s
bounce_queue_lifetime = %[7]s
bounce_template_file = %[1]s/bounce.cf
smtp_connect_timeout = 5s
smtp_helo_timeout = 10s
`, p.dir, p.queue, data, p.logFile, root, warn, lifetime)
}

// bounceCF replaces Postfix's delay_template, whose "$delay_warning_time_hours
// hour(s)" makes the bounce daemon log warnings for delays of seconds; the
// other notices keep Postfix's own text.
const bounceCF = `delay_template = <<EOF
Charset: us-ascii
From: MAILER-DAEMON (Mail Delivery System)
Subject: Delayed Mail (still being retried)
Postmaster-Subject: Postmaster Warning: Delayed Mail

This is the mail system at host $myhostname.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than
$delay_warning_time_seconds second(s). It will be retried until it is
$maximal_queue_lifetime_seconds second(s) old.

                   The mail system
EOF
`

// masterCF is Debian's master.cf reduced to what relaying needs, with
// nothing chrooted (a chroot would need copies of /etc files) and smtpd
// on the instance's own port.
func masterCF(addr string) string {
	return fmt.Sprintf(`# Written by internal/testenv for one test.
%s inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`, addr)
}

// waitReady waits for the SMTP greeting, or for master to exit.
func (p *PostfixServer) waitReady(exited <-chan struct{}, waitErr *error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var last error
	for {
		select {
		case <-exited:
			return fmt.Errorf("master exited: %v", *waitErr)
		case <-ctx.Done():
			return fmt.Errorf("no SMTP greeting on %s: %w", p.addr, errors.Join(ctx.Err(), last))
		case <-time.After(50 * time.Millisecond):
		}
		last = greet(ctx, p.addr)
		if last == nil {
			return nil
		}
	}
}

func greet(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("greeting %q", strings.TrimSpace(line))
	}
	_, _ = c.Write([]byte("QUIT\r\n"))
	return nil
}
