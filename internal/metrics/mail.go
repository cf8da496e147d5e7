package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// mailSeries are the outgoing-mail series.
type mailSeries struct {
	sends    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMailSeries(reg prometheus.Registerer) *mailSeries {
	s := &mailSeries{
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "mail", Name: "sends_total",
			Help: "Messages handed to the mail transport, by transport (smtp, outbox) and reply class (2xx, 4xx, 5xx, network, local, error).",
		}, []string{"transport", "class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "mail", Name: "send_duration_seconds",
			Help:    "Time to send one message (for SMTP: MAIL, RCPT and DATA on a pooled connection, dial included when one was needed).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"transport", "class"}),
	}
	reg.MustRegister(s.sends, s.duration)
	return s
}

// ObserveMail counts one send by transport and reply class (see
// mail.ReplyClass) with its duration.
func (m *Metrics) ObserveMail(transport, class string, took time.Duration) {
	m.mail.sends.WithLabelValues(transport, class).Inc()
	m.mail.duration.WithLabelValues(transport, class).Observe(took.Seconds())
}

// digestSeries are the digest runs' series (the deliveries themselves are
// store gauges, read at scrape).
type digestSeries struct {
	runDuration *prometheus.HistogramVec
}

func newDigestSeries(reg prometheus.Registerer) *digestSeries {
	s := &digestSeries{
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "digest", Name: "run_duration_seconds",
			Help:    "Time from a digest run's start of delivery to its last settled delivery, by newsletter; observed by the process that finishes the run.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800},
		}, []string{"newsletter"}),
	}
	reg.MustRegister(s.runDuration)
	return s
}

// DigestRunFinished observes a digest run's delivery time.
func (m *Metrics) DigestRunFinished(newsletter string, took time.Duration) {
	m.digest.runDuration.WithLabelValues(newsletter).Observe(max(took, 0).Seconds())
}
