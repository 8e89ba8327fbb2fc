package canary

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the canary's Prometheus metrics. Create them with NewMetrics
// on a registry the caller owns.
type Metrics struct {
	Runs       *prometheus.CounterVec
	LoginTime  prometheus.Histogram
	InFlight   prometheus.Gauge
	Unverified prometheus.Gauge
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "canary", Name: "runs_total",
			Help: "Canary leases run, by outcome (ok or the reason of the failure).",
		}, []string{"reason"}),
		LoginTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "compute", Subsystem: "canary", Name: "allocate_to_login_seconds",
			Help:    "Time from a canary's Allocate request to its first shell output over SSH.",
			Buckets: []float64{0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 120},
		}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "compute", Subsystem: "canary", Name: "in_flight",
			Help: "Canary leases open now.",
		}),
		Unverified: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "compute", Subsystem: "canary", Name: "unverified_miners",
			Help: "Miners whose specs failed a canary lease (left out of allocation, penalised).",
		}),
	}
	for _, c := range []prometheus.Collector{m.Runs, m.LoginTime, m.InFlight, m.Unverified} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range Reasons {
		m.Runs.WithLabelValues(r)
	}
	return m, nil
}
