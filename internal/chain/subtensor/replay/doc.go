// Package replay serves recorded finney JSON-RPC responses over an in-process websocket
// (127.0.0.1:0), so the subtensor client, the CLI and other packages can be tested
// without a network. It also holds the recorded fixtures: the bittensor SDK's
// integration recordings (converted to JSON) and the spec-343 metadata in V14 and V15.
//
// Requests are matched on parsed parameters: JSON values are compared after hex strings
// are lower-cased with any 0x prefix removed, and trailing null parameters (an absent
// block hash) are dropped. Tests add behaviour (extrinsic submission, events) with Handle;
// ServeNewHeads and NewHead play a node's chain_subscribeNewHeads, and Push sends any
// later notification.
// A Server is safe for concurrent use.
package replay
