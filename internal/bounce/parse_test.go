package bounce

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const tok = "aaaaaaaaaaaaaaaaaaaa"
	tests := []struct {
		file      string
		class     Class
		rcpt      string
		status    string
		messageID string
		token     string
	}{
		{"postfix-hard.eml", Hard, "nobody@example.net", "5.1.1", "run7.sub42@news.example.com", tok},
		{"postfix-soft.eml", Soft, "slow@example.net", "4.4.1", "run7.sub43@news.example.com", tok},
		{"exim-hard.eml", Hard, "gone@example.net", "5.1.1", "run7.sub44@news.example.com", tok},
		{"exim-soft.eml", Soft, "full@example.net", "4.2.2", "", tok},
		{"microsoft-hard.eml", Hard, "missing@outlook.com", "5.5.0", "run7.sub45@news.example.com", tok},
		{"microsoft-text-hard.eml", Hard, "left.company@corp.example.net", "5.1.10", "run7.sub46@news.example.com", tok},
		{"microsoft-text-soft.eml", Soft, "busy@corp.example.net", "4.4.7", "", tok},
		{"google-hard.eml", Hard, "no.such.person@gmail.com", "5.1.1", "run7.sub47@news.example.com", tok},
		{"google-soft.eml", Soft, "over.quota@gmail.com", "4.2.2", "", tok},
		{"arf-abuse.eml", Complaint, "angry@example.org", "", "run7.sub48@news.example.com", tok},
		{"arf-not-spam.eml", Unknown, "happy@example.org", "", "", tok},
		{"dsn-relayed.eml", Delivered, "fine@example.net", "2.0.0", "", tok},
		{"autoreply-auto-submitted.eml", AutoReply, "", "", "", tok},
		{"autoreply-outlook.eml", AutoReply, "", "", "", tok},
		{"autoreply-precedence.eml", AutoReply, "", "", "", tok},
		{"autoreply-subject.eml", AutoReply, "", "", "", tok},
		// RFC 3834 replies come from the null sender; "5.1.27" is a date.
		{"autoreply-null-sender.eml", AutoReply, "", "", "", tok},
		{"human-reply.eml", Unknown, "", "", "", tok},
		{"garbage.eml", Unknown, "", "", "", ""},
		{"empty.eml", Unknown, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Parse(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Class != tt.class || rep.Recipient != tt.rcpt || rep.Status != tt.status || rep.MessageID != tt.messageID || rep.Token != tt.token {
				t.Errorf("Parse = %+v\nwant class %v, recipient %q, status %q, message-id %q, token %q", rep, tt.class, tt.rcpt, tt.status, tt.messageID, tt.token)
			}
			if rep.Class == Unknown && rep.Reason == "" {
				t.Error("Unknown without a Reason: the operator sees nothing")
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := Parse(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Class == Unknown && rep.Reason == "" {
			t.Fatal("Unknown without a Reason")
		}
	})
}

func benchParse(b *testing.B, file string) {
	raw, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkParseDSN(b *testing.B) { benchParse(b, "postfix-hard.eml") }
func BenchmarkParseARF(b *testing.B) { benchParse(b, "arf-abuse.eml") }

// A field folded into very many short lines is joined only up to a bound:
// joining them all was quadratic (FuzzParse found a DSN that took seconds).
func TestFieldBlocksBounded(t *testing.T) {
	body := "Action: failed\nDiagnostic-Code: x\n" + strings.Repeat(" y\n", 100000)
	b := fieldBlocks([]byte(body))
	if len(b) != 1 || len(b[0]["diagnostic-code"]) > maxField+10 || b[0]["action"] != "failed" {
		t.Fatalf("diagnostic-code is %d bytes; want at most about %d", len(b[0]["diagnostic-code"]), maxField)
	}
}
