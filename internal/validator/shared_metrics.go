package validator

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sn27/compute/internal/sharedstate"
)

// SharedMetrics are the metrics of the state shared through the chain.
type SharedMetrics struct {
	Published *prometheus.CounterVec // by result: ok, failed
	Reads     *prometheus.CounterVec // by result: ok, failed
	Used      prometheus.Counter
	Dropped   *prometheus.CounterVec // by sharedstate.Drop* kind
	Allocated prometheus.Gauge
	Penalised prometheus.Gauge
}

func newSharedMetrics(reg prometheus.Registerer) (*SharedMetrics, error) {
	m := &SharedMetrics{
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "validator", Name: "shared_records_published_total",
			Help: "This validator's shared-state records sent as its commitment, by result (ok, failed).",
		}, []string{"result"}),
		Reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "validator", Name: "shared_reads_total",
			Help: "Reads of every permitted validator's shared-state record, by result (ok, failed).",
		}, []string{"result"}),
		Used: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "validator", Name: "shared_records_used_total",
			Help: "Shared-state records read and merged (summed over reads).",
		}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "validator", Name: "shared_records_dropped_total",
			Help: "Shared-state records read but not used, by kind (not_record, malformed, no_permit, future, stale).",
		}, []string{"kind"}),
		Allocated: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "compute", Subsystem: "validator", Name: "shared_allocated_miners",
			Help: "Uids leased according to the last merged shared state.",
		}),
		Penalised: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "compute", Subsystem: "validator", Name: "shared_penalised_miners",
			Help: "Uids penalised by more than the configured share of stake in the last merged shared state.",
		}),
	}
	for _, c := range []prometheus.Collector{m.Published, m.Reads, m.Used, m.Dropped, m.Allocated, m.Penalised} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range []string{"ok", "failed"} {
		m.Published.WithLabelValues(r)
		m.Reads.WithLabelValues(r)
	}
	for _, k := range []string{sharedstate.DropNotRecord, sharedstate.DropMalformed, sharedstate.DropNoPermit,
		sharedstate.DropFuture, sharedstate.DropStale} {
		m.Dropped.WithLabelValues(k)
	}
	return m, nil
}
