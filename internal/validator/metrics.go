package validator

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Challenge results, the label values of compute_validator_challenges_total.
const (
	ResultSuccess       = "success"
	ResultTimeout       = "timeout"        // no answer within the challenge timeout
	ResultUnreachable   = "unreachable"    // connection refused or no route
	ResultBadResponse   = "bad_response"   // unparsable, oversized or wrongly typed answer
	ResultRefused       = "refused"        // the axon answered an error status (blacklist, busy, ...)
	ResultNoPassword    = "no_password"    // 200 without a password (the miner's own error included)
	ResultWrongPassword = "wrong_password" // the password does not hash to the challenge
	ResultInternal      = "internal"       // the validator could not build or send the challenge, or stopped before the answer
)

// Metrics are the validator's Prometheus metrics. Create them with
// NewMetrics on a registry the caller owns.
type Metrics struct {
	RoundDuration prometheus.Histogram
	RoundCPU      prometheus.Histogram
	Rounds        prometheus.Counter
	MinersQueried prometheus.Gauge
	Challenges    *prometheus.CounterVec
	Specs         *prometheus.CounterVec
	WeightsSet    *prometheus.CounterVec
	Commits       prometheus.Counter
	Reveals       *prometheus.CounterVec
	Block         prometheus.Gauge
	Excluded      *prometheus.GaugeVec
	// Shared are the metrics of the state shared through the chain.
	Shared *SharedMetrics
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		RoundDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "compute", Subsystem: "validator", Name: "round_duration_seconds",
			Help:    "Wall time of a challenge round, from the first challenge sent to the round stored.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 120, 300},
		}),
		RoundCPU: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "compute", Subsystem: "validator", Name: "round_cpu_seconds",
			Help:    "Process CPU time spent while a challenge round ran.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}),
		Rounds: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "validator", Name: "rounds_total",
			Help: "Challenge rounds completed and stored.",
		}),
		MinersQueried: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "compute", Subsystem: "validator", Name: "miners_queried",
			Help: "Miners challenged in the last round.",
		}),
		Challenges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "validator", Name: "challenges_total",
			Help: "Challenges sent, by result (success or the reason of the failure).",
		}, []string{"result"}),
		Specs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "validator", Name: "specs_queries_total",
			Help: "Specs queries, by result (stored, missing, invalid).",
		}, []string{"result"}),
		WeightsSet: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "validator", Name: "weights_set_total",
			Help: "Attempts to set weights on chain, by result (ok, failed, skipped).",
		}, []string{"result"}),
		Commits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "validator", Name: "weights_commits_total",
			Help: "Timelocked weights commits included on chain.",
		}),
		Reveals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "validator", Name: "weights_reveals_total",
			Help: "Timelocked weights commits by what the chain did with them (revealed; superseded by a later commit revealed with it; missed).",
		}, []string{"result"}),
		Block: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "compute", Subsystem: "validator", Name: "block",
			Help: "Last chain block the validator saw.",
		}),
		Excluded: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "compute", Subsystem: "validator", Name: "miners_excluded",
			Help: "Neurons left out of the last round, by reason.",
		}, []string{"reason"}),
	}
	for _, c := range []prometheus.Collector{m.RoundDuration, m.RoundCPU, m.Rounds, m.MinersQueried,
		m.Challenges, m.Specs, m.WeightsSet, m.Commits, m.Reveals, m.Block, m.Excluded} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	var err error
	if m.Shared, err = newSharedMetrics(reg); err != nil {
		return nil, err
	}
	// Known label values start at zero so that rates exist from the start.
	for _, r := range []string{ResultSuccess, ResultTimeout, ResultUnreachable, ResultBadResponse,
		ResultRefused, ResultNoPassword, ResultWrongPassword, ResultInternal} {
		m.Challenges.WithLabelValues(r)
	}
	for _, r := range []string{"ok", "failed", "skipped"} {
		m.WeightsSet.WithLabelValues(r)
	}
	return m, nil
}
