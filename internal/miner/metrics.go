package miner

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sn27/compute/internal/wire"
)

// Metrics are the miner's Prometheus metrics, registered on an injected registry.
type Metrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	solve      *prometheus.HistogramVec
	leases     prometheus.GaugeFunc
	gpus       prometheus.Gauge
	allocation prometheus.Gauge
	queue      prometheus.GaugeFunc
	served     prometheus.Counter

	// live reads the running miner's queue and lease manager (nil before Run).
	live atomic.Pointer[liveState]
}

// liveState is what the derived gauges read.
type liveState struct {
	queueLen func() int
	leased   func() bool
}

// NewMetrics creates the miner's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{}
	*m = Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "miner", Name: "requests_total",
			Help: "Axon requests by synapse and outcome.",
		}, []string{"synapse", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "compute", Subsystem: "miner", Name: "request_duration_seconds",
			Help:    "Time the axon spent on a request, by synapse.",
			Buckets: []float64{0.005, 0.05, 0.25, 1, 2.5, 5, 10, 30, 60},
		}, []string{"synapse"}),
		solve: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "compute", Subsystem: "pow", Name: "solve_duration_seconds",
			Help:    "Local time to answer a challenge (queue wait included), by solver and result.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30},
		}, []string{"solver", "result"}),
		leases: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "compute", Subsystem: "miner", Name: "leases_active",
			Help: "1 while this machine is allocated to a renter, else 0.",
		}, func() float64 {
			if l := m.live.Load(); l != nil && l.leased != nil && l.leased() {
				return 1
			}
			return 0
		}),
		gpus: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "compute", Subsystem: "miner", Name: "gpus",
			Help: "NVIDIA GPUs found at start (0 on a CPU-only miner).",
		}),
		allocation: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "compute", Subsystem: "miner", Name: "allocation_enabled",
			Help: "1 when Docker can run lease containers and allocation is offered, else 0.",
		}),
		queue: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "compute", Subsystem: "pow", Name: "queue_length",
			Help: "Challenges waiting in the proof-of-work queue.",
		}, func() float64 {
			if l := m.live.Load(); l != nil && l.queueLen != nil {
				return float64(l.queueLen())
			}
			return 0
		}),
		served: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "compute", Subsystem: "miner", Name: "axon_serves_total",
			Help: "serve_axon calls sent to the chain.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.solve, m.leases, m.gpus, m.allocation, m.queue, m.served} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveRequest implements wire.Observer.
func (m *Metrics) ObserveRequest(e wire.RequestEvent) {
	name := e.Synapse
	switch name {
	case "Specs", "Challenge", "Allocate", "Synapse":
	default:
		name = "unknown"
	}
	m.requests.WithLabelValues(name, string(e.Outcome)).Inc()
	m.duration.WithLabelValues(name).Observe(e.Duration.Seconds())
}
