// Package wire speaks Bittensor's axon/dendrite protocol: the synapse types
// of the Compute Subnet (Specs, Challenge, Allocate) with their exact JSON
// names, body hashing, request signing and nonce rules (kept here and nowhere
// else), the Axon server a miner runs and the Dendrite client a validator
// uses. It interoperates with Python bittensor 6.9.3 and >= 7.2 peers.
//
// # Miner: attaching handlers
//
//	ax, err := wire.NewAxon(wire.AxonConfig{Hotkey: hotkey.SS58Address()})
//	if err != nil { ... }
//	err = wire.Attach(ax, wire.Handler[wire.Challenge]{
//		Blacklist: func(ctx context.Context, c wire.Caller) (bool, string) {
//			if !isValidator(c.Hotkey) { return true, "not a validator" }
//			return false, ""
//		},
//		Priority: func(ctx context.Context, c wire.Caller) float64 { return stake(c.Hotkey) + 2 },
//		Forward: func(ctx context.Context, syn *wire.Challenge) error {
//			caller, _ := wire.CallerFrom(ctx) // verified hotkey, ip, version
//			pw, err := solve(ctx, syn.Challenge)
//			if err != nil { return err } // generic 500 "Internal Server Error #id"
//			syn.Output.Password = &pw
//			return nil
//		},
//	})
//	ln, err := net.Listen("tcp", ":8091") // the caller opens the listener
//	go ax.Serve(ctx, ln) // returns after in-flight requests finish (or ShutdownGrace)
//
// The axon runs Bittensor's pipeline: route (404) -> headers (400) ->
// blacklist (403) -> signature and nonce (401) -> priority queue (408 for
// >= 7.2 callers, 503 for 6.x) -> body hash and decode (500) -> forward ->
// 200 with the full synapse echoed. Every error is JSON {"message": ...}, and
// response headers are written in lowercase, as Python dendrites require.
// A forward function can answer a specific status with wire.Errorf(code, ...);
// any other error, or a panic, becomes the generic 500. The unsigned timeout
// header is capped at AxonConfig.MaxTimeout for the forward deadline and for
// the >= 7.2 nonce freshness window alike.
// AxonConfig.Observer receives one RequestEvent per request for metrics.
//
// # Validator: querying many axons
//
//	d, err := wire.NewDendrite(wire.DendriteConfig{Signer: hotkey})
//	reqs := []wire.Request[wire.Challenge]{
//		{Target: wire.NeuronTarget(n),
//		 Synapse: wire.NewChallenge(ch)},
//	}
//	for _, r := range wire.Query(ctx, d, reqs, 30*time.Second) {
//		if !r.OK() { log(r.StatusCode, r.StatusMessage, r.Err); continue }
//		use(r.Synapse.Output, r.Elapsed)
//	}
//
// wire.Broadcast sends one synapse to many targets and wire.Call queries one.
// Results come back in request order, each with its own status, message,
// elapsed time and error; local failures use Bittensor's codes (503 connect,
// 408 timeout, 422 unparsable answer).
//
// Nonces are per dendrite and strictly increasing, and a Python axon refuses a
// nonce older than the last it accepted. A Dendrite therefore sends its calls
// to one axon one after another (calls to different axons still run
// concurrently), so they can never arrive out of order. The Axon verifies
// requests in parallel, so it accepts an unseen nonce up to
// NonceReorderWindow below the newest one of that dendrite: a Python
// dendrite's concurrent calls to one miner all succeed, as they do against a
// Python axon, and each nonce is still accepted only once.
//
// # Body hashes
//
// The signed message ends with the body hash, which covers the fields a
// request names in required_hash_fields (bittensor <= 7.1 rules; the original
// subnet's peers name none, so their bodies are not covered). The Dendrite
// covers every request field of Challenge and Allocate (CoveredFields); the
// Axon checks whatever a request names and answers a mismatch 500, as Python
// does, and a Handler with RequireHash refuses (401) a request that does not
// cover CoveredFields. An axon that cannot check hashes (Python >= 7.2, where
// the list is a class variable) answers 500: the Dendrite then sends a
// challenge, an allocation check or a deallocation once more unhashed, never a
// real allocation or a lease action, and never to an axon that has checked a
// hash before. A lease action (docker_change with docker_action) covers both
// fields too; an older miner that does not know them hashes without them and
// answers 500, so it never acts on a lease action it cannot check.
// Bodies are decoded as pydantic would: a whole-number float fills an integer
// field, a fraction is refused naming the field.
//
// Axon and Dendrite are safe for concurrent use. The protocol is described in
// the project's bittensor-wire notes (sections 1, 2 and 6).
package wire
