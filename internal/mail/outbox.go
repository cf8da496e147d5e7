package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrLocal marks a failure of this machine rather than of the message or
// the recipient: the outbox could not be written (a full or read-only
// disk). Retrying the same message later can succeed, and every other
// message would fail alike until it is fixed, so a sender stops instead of
// settling messages as failed.
var ErrLocal = errors.New("mail: local I/O failure")

// Outbox writes each message as an .eml file instead of sending it: the
// default transport, so a fresh install never mails anyone by accident and
// every message can be opened in a mail client.
type Outbox struct {
	dir string
	log *slog.Logger
}

// outboxEnvelope is the JSON written beside each .eml (NAME.envelope.json):
// an .eml file carries no envelope, and the return path and recipients
// matter when checking what would have been sent.
type outboxEnvelope struct {
	From string   `json:"from"`
	To   []string `json:"to"`
}

// NewOutbox returns an outbox writing into dir, which it creates if
// missing. It removes the temporary files a crash left behind that are
// older than staleTemp (digest.lease): a younger one may belong to another
// process writing right now. Zero keeps them all.
func NewOutbox(dir string, staleTemp time.Duration, log *slog.Logger) (*Outbox, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if dir == "" {
		return nil, fmt.Errorf("mail: outbox: empty directory")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("mail: outbox: %w: %w", ErrLocal, err)
	}
	o := &Outbox{dir: dir, log: log}
	if staleTemp > 0 {
		o.removeStaleTemp(time.Now().Add(-staleTemp))
	}
	return o, nil
}

// tempPrefix starts the name of every file writeAtomic has not renamed yet.
const tempPrefix = ".tmp-"

// removeStaleTemp deletes temporary files last written before cutoff;
// failures are logged, not fatal: a leftover costs disk space, not mail.
func (o *Outbox) removeStaleTemp(cutoff time.Time) {
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		o.log.Warn("outbox: cannot list for leftover temporary files", slog.String("dir", o.dir), slog.Any("err", err))
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		p := filepath.Join(o.dir, e.Name())
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			o.log.Warn("outbox: cannot remove leftover temporary file", slog.String("path", p), slog.Any("err", err))
			continue
		}
		o.log.Info("outbox: removed a temporary file left by a crash", slog.String("path", p))
	}
}

// Send writes NAME.envelope.json and then NAME.eml, each atomically (a temp
// file in the same folder, fsync, rename), so a reader never sees a partial
// message or an .eml without its envelope. NAME is
// <UTC timestamp>-<random>, which sorts in sending order.
func (o *Outbox) Send(ctx context.Context, env Envelope, raw []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := env.validate(); err != nil {
		return err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := strings.Replace(time.Now().UTC().Format("20060102T150405.000000000Z"), ".", "", 1) + "-" + hex.EncodeToString(rnd[:])
	envJSON, err := json.MarshalIndent(outboxEnvelope(env), "", "  ")
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	if err := writeAtomic(o.dir, name+".envelope.json", append(envJSON, '\n')); err != nil {
		return err
	}
	path := filepath.Join(o.dir, name+".eml")
	if err := writeAtomic(o.dir, name+".eml", raw); err != nil {
		// No envelope without its message: the retry writes both anew.
		_ = os.Remove(filepath.Join(o.dir, name+".envelope.json"))
		return err
	}
	syncDir(o.dir)
	o.log.Info("mail written to outbox", slog.String("path", path), slog.Any("to", env.To))
	return nil
}

// Close does nothing: every Send is complete on disk when it returns.
func (o *Outbox) Close() error { return nil }

// writeAtomic writes data to dir/name; every error it returns wraps
// ErrLocal.
func writeAtomic(dir, name string, data []byte) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrLocal, err)
		}
	}()
	f, err := os.CreateTemp(dir, tempPrefix+name+"-*")
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("mail: outbox: write %s: %w", name, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("mail: outbox: sync %s: %w", name, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("mail: outbox: close %s: %w", name, err)
	}
	if err = os.Chmod(f.Name(), 0o640); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	if err = os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	return nil
}

// syncDir makes the renames durable; best effort (not every OS allows it).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
